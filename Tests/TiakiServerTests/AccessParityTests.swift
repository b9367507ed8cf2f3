import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel

@testable import TiakiServer
@testable import TiakiWeb

/// What a probe of one front end sends for an action.
struct Probe: Sendable {
    let method: HTTPRequest.Method
    let path: String
    /// A JSON body (the API) or form fields (the pages).
    var json: JSONValue? = nil
    var form: [(String, String)] = []
}

/// The fixtures the probes point at: a child of school-a with a consent, a share, a breach.
struct ParityFixtures: Sendable {
    let subject: String
    let consent: Int
    let disclosure: Int
    let breach: String
}

@Suite("One access policy for the API and the pages")
struct AccessParityTests {
    /// For every action, how the API and the pages are asked to do it; `nil` where a front end does not offer it.
    /// The switch has no default: a new action does not compile until it says how each front end is asked.
    static func probes(_ action: Action, _ f: ParityFixtures) -> (api: Probe?, page: Probe?) {
        let child = "/children/\(f.subject)"
        switch action {
        case .registerChild:
            return (
                Probe(method: .post, path: "/v1/subjects", json: ["birthMonth": "2015-06"]),
                Probe(method: .get, path: "/children/new")
            )
        case .findChild:
            return (
                Probe(method: .get, path: "/v1/subjects?nsn=123456789"),
                Probe(method: .get, path: "/children?nsn=123456789")
            )
        case .viewChild:
            return (Probe(method: .get, path: "/v1/subjects/\(f.subject)/consents"), Probe(method: .get, path: child))
        case .readPersonalDetails:
            // Not a route: what the child's page and a consent show (checked by `personalDetails` below).
            return (nil, nil)
        case .recordConsent:
            return (
                Probe(method: .post, path: "/v1/subjects/\(f.subject)/consents", json: [:]),
                Probe(method: .get, path: "\(child)/consents/new")
            )
        case .withdrawConsent:
            return (
                Probe(method: .post, path: "/v1/consents/\(f.consent)/withdraw", json: ["by": "nobody"]),
                Probe(method: .get, path: "/consents/\(f.consent)/withdraw")
            )
        case .recordRefusal:
            return (
                Probe(method: .post, path: "/v1/subjects/\(f.subject)/refusals", json: [:]),
                Probe(method: .get, path: "\(child)/refusals/new")
            )
        case .readConsent:
            return (Probe(method: .get, path: "/v1/consents/\(f.consent)"), nil)
        case .readReceipt:
            return (nil, Probe(method: .get, path: "/consents/\(f.consent)/receipt"))
        case .decide:
            return (
                Probe(method: .post, path: "/v1/decisions", json: ["subject": .string(f.subject)]),
                Probe(method: .get, path: "\(child)/share")
            )
        case .recordDisclosure:
            return (
                Probe(method: .post, path: "/v1/disclosures", json: ["subject": .string(f.subject)]),
                Probe(method: .post, path: "\(child)/disclosures", form: [("decision", "0")])
            )
        case .reviewDisclosure:
            return (
                Probe(method: .post, path: "/v1/disclosures/\(f.disclosure)/review", json: ["outcome": "maybe"]),
                Probe(method: .post, path: "/disclosures/\(f.disclosure)/review", form: [("outcome", "maybe")])
            )
        case .eraseChild:
            return (
                Probe(method: .post, path: "/v1/subjects/\(f.subject)/erase", json: ["reason": "whim"]),
                Probe(method: .get, path: "\(child)/erase")
            )
        case .readReport:
            return (
                Probe(method: .get, path: "/v1/subjects/\(f.subject)/report"),
                Probe(method: .get, path: "\(child)/report")
            )
        case .readFindings:
            return (Probe(method: .get, path: "/v1/findings"), Probe(method: .get, path: "/findings"))
        case .readCoverage:
            return (nil, Probe(method: .get, path: "/coverage"))
        case .readLedger:
            return (Probe(method: .get, path: "/v1/ledger/entries?start=0&end=2"), Probe(method: .get, path: "/ledger"))
        case .readProofs:
            return (Probe(method: .get, path: "/v1/ledger/proofs/inclusion?index=0"), nil)
        case .manageOrganisations:
            return (
                Probe(method: .post, path: "/v1/orgs", json: [:]),
                Probe(method: .post, path: "/admin/orgs", form: [("id", "Not An Id")])
            )
        case .manageCredentials:
            return (Probe(method: .post, path: "/v1/credentials", json: [:]), Probe(method: .get, path: "/admin"))
        case .readNotices:
            return (Probe(method: .get, path: "/v1/notices"), Probe(method: .get, path: "/notices"))
        case .recordCollectionNotice:
            return (
                Probe(method: .post, path: "/v1/notices/collections", json: ["method": "pigeon"]),
                Probe(method: .post, path: "/notices/collections/\(f.disclosure)/sent", form: [("method", "pigeon")])
            )
        case .acknowledgeWithdrawal:
            return (
                Probe(method: .post, path: "/v1/notices/withdrawals/\(f.consent)/acknowledge", json: [:]),
                Probe(method: .post, path: "/notices/withdrawals/\(f.consent)/acknowledge")
            )
        case .recordNoticeException:
            return (Probe(method: .post, path: "/v1/notices/collections/\(f.disclosure)/exception", json: [:]), nil)
        case .readNoticeDocument:
            return (
                Probe(method: .get, path: "/v1/notices/collections/\(f.disclosure)/document"),
                Probe(method: .get, path: "/notices/collections/\(f.disclosure)")
            )
        case .handleBreaches:
            return (Probe(method: .get, path: "/v1/breaches"), Probe(method: .get, path: "/breaches/\(f.breach)"))
        }
    }

    /// Each role, by the cluster's token for it (a member of the child's own school for `member`).
    static let tokens: [Role: String] = [
        .member: "a", .facilitator: "facilitator", .privacyOfficer: "privacy", .auditor: "auditor", .admin: "admin",
    ]

    @Test("every action, for every role, on the API and on the pages: refused exactly when the role may not")
    func parity() async throws {
        try await Cluster.run { cluster, app in
            let services = cluster.services
            let subject = try #require(
                try await services.subjects.register(
                    SubjectInput(birthMonth: "2015-06", nsn: "123456789", name: "Aroha"),
                    actor: Cluster.schoolA
                ).entry.subject
            )
            let consent = try await cluster.consent(subject)
            let disclosure = try await cluster.disclose(subject, date: "2026-03-01")
            let breach = try #require(
                try await services.breaches.record(
                    BreachInput(found: "2026-03-02T09:00:00Z", description: "Sent astray.", disclosures: [disclosure]),
                    actor: EntryActor(org: "office")
                ).entry.body as? BreachRecorded
            )
            let fixtures = ParityFixtures(
                subject: subject,
                consent: consent,
                disclosure: disclosure,
                breach: breach.breach
            )
            try await app.test(.router) { client in
                var browsers: [Role: FormBrowser] = [:]
                var csrf: [Role: String] = [:]
                for (role, who) in Self.tokens {
                    var browser = FormBrowser()
                    _ = try await browser.signIn(client, token: cluster.tokens[who] ?? "")
                    csrf[role] = FormBrowser.csrf(try await browser.get(client, "/"))
                    browsers[role] = browser
                }
                var checked = 0
                for action in Action.allCases {
                    let (api, page) = Self.probes(action, fixtures)
                    for role in Role.allCases {
                        let allowed = action.roles.contains(role)
                        let who = try #require(Self.tokens[role])
                        if let api {
                            let response = try await client.execute(
                                uri: api.path,
                                method: api.method,
                                headers: cluster.headers(who),
                                body: api.json.map(buffer)
                            )
                            #expect(
                                (response.status == .forbidden) == !allowed,
                                "API \(action) as \(role): \(response.status) \(response.html.prefix(160))"
                            )
                            checked += 1
                        }
                        if let page, var browser = browsers[role] {
                            let response =
                                page.method == .get
                                ? try await browser.get(client, page.path)
                                : try await browser.post(client, page.path, [("csrf", csrf[role] ?? "")] + page.form)
                            #expect(
                                (response.status == .forbidden) == !allowed,
                                "page \(action) as \(role): \(response.status) \(response.html.prefix(160))"
                            )
                            #expect(response.headers[.location]?.hasPrefix("/sign-in") != true, "\(action) \(role)")
                            checked += 1
                        }
                    }
                }
                #expect(checked > 200)
            }
        }
    }

    @Test("a child's personal details: shown to the roles that may read them, on the page and in a consent")
    func personalDetails() async throws {
        try await Cluster.run { cluster, app in
            let subject = try #require(
                try await cluster.services.subjects.register(
                    SubjectInput(birthMonth: "2015-06", name: "Aroha Parata"),
                    actor: Cluster.schoolA
                ).entry.subject
            )
            let consent = try await cluster.consent(subject)
            try await app.test(.router) { client in
                for role in [Role.member, .facilitator, .privacyOfficer] {
                    let allowed = Action.readPersonalDetails.roles.contains(role)
                    var browser = FormBrowser()
                    _ = try await browser.signIn(client, token: cluster.tokens[Self.tokens[role] ?? ""] ?? "")
                    let page = try await browser.get(client, "/children/\(subject)")
                    #expect(page.html.contains("Aroha Parata") == allowed, "\(role)")
                    let view = try await client.execute(
                        uri: "/v1/consents/\(consent)",
                        method: .get,
                        headers: cluster.headers(Self.tokens[role])
                    )
                    #expect((view.json["consenterNames"] != nil) == allowed, "\(role)")
                    // Words sealed to the child's key: opened for those who may read them, sealed for the others.
                    let text = view.json["text"]?.stringValue ?? ""
                    #expect(Sealed.isSealed(text) == !allowed, "\(role): \(text.prefix(40))")
                }
            }
        }
    }
}
