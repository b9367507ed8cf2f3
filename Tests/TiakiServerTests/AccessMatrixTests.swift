import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

@testable import TiakiServer

/// Who calls: no token, a member of the subject's own school, a member of another school, and each other role.
enum MatrixCaller: String, CaseIterable, Sendable {
    /// `memberEnrolled` is a member of school-c, which enrolled the same child by NSN after school-a registered
    /// them: it knows the child, but not school-a's records of them.
    case anonymous, memberOwn, memberEnrolled, memberOther, facilitator, privacyOfficer, auditor, admin

    var token: String? {
        switch self {
        case .anonymous: nil
        case .memberOwn: "a"
        case .memberEnrolled: "c"
        case .memberOther: "b"
        case .facilitator: "facilitator"
        case .privacyOfficer: "privacy"
        case .auditor: "auditor"
        case .admin: "admin"
        }
    }
}

/// A request against fresh fixtures of school-a (a subject with a consent, a spare credential).
struct MatrixFixtures {
    let subject: String
    let consent: Int
    let credential: String
    let nsn: String
    let disclosure: Int
    let breach: String
}

struct MatrixRoute: Sendable {
    let pattern: String
    let method: HTTPRequest.Method
    let uri: @Sendable (MatrixFixtures) -> String
    let body: @Sendable (MatrixFixtures) -> JSONValue?
    /// The expected status for each caller; callers not listed expect 403 (and anonymous 401).
    let allowed: [MatrixCaller: HTTPResponse.Status]
}

@Suite("Access matrix")
struct AccessMatrixTests {
    static let everyone: [MatrixCaller: HTTPResponse.Status] = Dictionary(
        uniqueKeysWithValues: MatrixCaller.allCases.map { ($0, .ok) }
    )
    static let signedIn: [MatrixCaller: HTTPResponse.Status] = Dictionary(
        uniqueKeysWithValues: MatrixCaller.allCases.filter { $0 != .anonymous }.map { ($0, .ok) }
    )

    static let routes: [MatrixRoute] = [
        .init(pattern: "get /healthz", method: .get, uri: { _ in "/healthz" }, body: { _ in nil }, allowed: everyone),
        .init(pattern: "get /metrics", method: .get, uri: { _ in "/metrics" }, body: { _ in nil }, allowed: everyone),
        .init(
            pattern: "get /v1/openapi.yaml",
            method: .get,
            uri: { _ in "/v1/openapi.yaml" },
            body: { _ in nil },
            allowed: everyone
        ),
        .init(
            pattern: "get /v1/vocabulary",
            method: .get,
            uri: { _ in "/v1/vocabulary" },
            body: { _ in nil },
            allowed: everyone
        ),
        .init(
            pattern: "get /v1/vocabulary/{dimension}",
            method: .get,
            uri: { _ in "/v1/vocabulary/purposes?format=fhir-r4" },
            body: { _ in nil },
            allowed: everyone
        ),
        .init(
            pattern: "get /v1/ledger/checkpoint",
            method: .get,
            uri: { _ in "/v1/ledger/checkpoint" },
            body: { _ in nil },
            allowed: everyone
        ),
        .init(
            pattern: "get /v1/ledger/vkey",
            method: .get,
            uri: { _ in "/v1/ledger/vkey" },
            body: { _ in nil },
            allowed: everyone
        ),
        .init(
            pattern: "get /v1/ledger/entries",
            method: .get,
            uri: { _ in "/v1/ledger/entries?start=0&end=5" },
            body: { _ in nil },
            allowed: [.auditor: .ok, .privacyOfficer: .ok]
        ),
        .init(
            pattern: "get /v1/ledger/export",
            method: .get,
            uri: { _ in "/v1/ledger/export" },
            body: { _ in nil },
            allowed: [.auditor: .ok, .privacyOfficer: .ok]
        ),
        .init(
            pattern: "get /v1/ledger/proofs/inclusion",
            method: .get,
            uri: { _ in "/v1/ledger/proofs/inclusion?index=1" },
            body: { _ in nil },
            allowed: signedIn
        ),
        .init(
            pattern: "get /v1/ledger/proofs/consistency",
            method: .get,
            uri: { _ in "/v1/ledger/proofs/consistency?from=1" },
            body: { _ in nil },
            allowed: signedIn
        ),
        .init(
            pattern: "post /v1/orgs",
            method: .post,
            uri: { _ in "/v1/orgs" },
            body: { f in ["id": .string("org-\(f.consent)"), "kind": "school", "name": "New"] },
            allowed: [.admin: .created]
        ),
        .init(
            pattern: "post /v1/credentials",
            method: .post,
            uri: { _ in "/v1/credentials" },
            body: { _ in ["org": "school-a", "role": "member", "holder": "the matrix's school"] },
            allowed: [.admin: .created]
        ),
        .init(
            pattern: "post /v1/credentials/{id}/revoke",
            method: .post,
            uri: { f in "/v1/credentials/\(f.credential)/revoke" },
            body: { _ in nil },
            allowed: [.admin: .ok]
        ),
        .init(
            pattern: "post /v1/subjects",
            method: .post,
            uri: { _ in "/v1/subjects" },
            body: { _ in ["birthMonth": "2016-01"] },
            allowed: [.memberOwn: .created, .memberEnrolled: .created, .memberOther: .created]
        ),
        .init(
            pattern: "get /v1/subjects",
            method: .get,
            uri: { f in "/v1/subjects?nsn=\(f.nsn)" },
            body: { _ in nil },
            // A privacy officer finds any child (a whānau's IPP 6 request starts there).
            allowed: [.memberOwn: .ok, .memberEnrolled: .ok, .memberOther: .notFound, .privacyOfficer: .ok]
        ),
        .init(
            pattern: "post /v1/subjects/{subject}/consents",
            method: .post,
            uri: { f in "/v1/subjects/\(f.subject)/consents" },
            body: { _ in consentBody },
            allowed: [.memberOwn: .created, .memberEnrolled: .created, .memberOther: .notFound]
        ),
        .init(
            pattern: "get /v1/subjects/{subject}/consents",
            method: .get,
            uri: { f in "/v1/subjects/\(f.subject)/consents" },
            body: { _ in nil },
            allowed: [
                .memberOwn: .ok, .memberEnrolled: .ok, .memberOther: .notFound, .facilitator: .ok, .privacyOfficer: .ok,
            ]
        ),
        .init(
            pattern: "post /v1/subjects/{subject}/refusals",
            method: .post,
            uri: { f in "/v1/subjects/\(f.subject)/refusals" },
            body: { _ in
                [
                    "purposes": ["transition"], "information": ["register-entry"], "by": ["parent"],
                    "informed": ["date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting"],
                ]
            },
            allowed: [.memberOwn: .created, .memberEnrolled: .created, .memberOther: .notFound]
        ),
        .init(
            pattern: "get /v1/subjects/{subject}/disclosures",
            method: .get,
            uri: { f in "/v1/subjects/\(f.subject)/disclosures" },
            body: { _ in nil },
            allowed: [
                .memberOwn: .ok, .memberEnrolled: .ok, .memberOther: .notFound, .facilitator: .ok, .privacyOfficer: .ok,
            ]
        ),
        .init(
            pattern: "post /v1/subjects/{subject}/erase",
            method: .post,
            uri: { f in "/v1/subjects/\(f.subject)/erase" },
            body: { _ in ["reason": "request"] },
            allowed: [.privacyOfficer: .ok]
        ),
        .init(
            pattern: "get /v1/consents/{consent}",
            method: .get,
            uri: { f in "/v1/consents/\(f.consent)" },
            body: { _ in nil },
            allowed: [
                .memberOwn: .ok, .memberEnrolled: .notFound, .memberOther: .notFound, .facilitator: .ok,
                .privacyOfficer: .ok,
            ]
        ),
        .init(
            pattern: "get /v1/consents/{consent}",
            method: .get,
            uri: { f in "/v1/consents/\(f.consent)?format=fhir-r4" },
            body: { _ in nil },
            allowed: [
                .memberOwn: .ok, .memberEnrolled: .notFound, .memberOther: .notFound, .facilitator: .ok,
                .privacyOfficer: .ok,
            ]
        ),
        .init(
            pattern: "post /v1/consents/{consent}/withdraw",
            method: .post,
            uri: { f in "/v1/consents/\(f.consent)/withdraw" },
            body: { _ in ["by": "parent"] },
            allowed: [.memberOwn: .ok, .memberEnrolled: .notFound, .memberOther: .notFound]
        ),
        .init(
            pattern: "get /v1/notices",
            method: .get,
            uri: { _ in "/v1/notices?status=all" },
            body: { _ in nil },
            allowed: [.memberOwn: .ok, .memberEnrolled: .ok, .memberOther: .ok]
        ),
        .init(
            pattern: "post /v1/notices/withdrawals/{consent}/acknowledge",
            method: .post,
            uri: { f in "/v1/notices/withdrawals/\(f.consent)/acknowledge" },
            body: { _ in [:] },
            // The consent was not withdrawn, and no member's organisation was told of it.
            allowed: [.memberOwn: .notFound, .memberEnrolled: .notFound, .memberOther: .notFound]
        ),
        .init(
            pattern: "get /v1/assets/report.css",
            method: .get,
            uri: { _ in "/v1/assets/report.css" },
            body: { _ in nil },
            allowed: everyone
        ),
        .init(
            pattern: "post /v1/notices/collections",
            method: .post,
            uri: { _ in "/v1/notices/collections" },
            body: { f in ["disclosures": [.number(Double(f.disclosure))], "method": "email"] },
            // The disclosure (school-a to the RTLB service, with no decision) owes a notice: the RTLB service sends
            // it, or school-a on its behalf; to any other organisation there is nothing here.
            allowed: [.memberOwn: .created, .memberEnrolled: .notFound, .memberOther: .notFound]
        ),
        .init(
            pattern: "post /v1/notices/collections/{disclosure}/exception",
            method: .post,
            uri: { f in "/v1/notices/collections/\(f.disclosure)/exception" },
            body: { _ in ["code": "already-aware", "reason": "The whānau were at the meeting."] },
            allowed: [.privacyOfficer: .created]
        ),
        .init(
            pattern: "get /v1/notices/collections/{disclosure}/document",
            method: .get,
            uri: { f in "/v1/notices/collections/\(f.disclosure)/document?lang=both" },
            body: { _ in nil },
            allowed: [.memberOwn: .ok, .memberEnrolled: .notFound, .memberOther: .notFound, .privacyOfficer: .ok]
        ),
        .init(
            pattern: "get /v1/breaches",
            method: .get,
            uri: { _ in "/v1/breaches" },
            body: { _ in nil },
            allowed: [.privacyOfficer: .ok]
        ),
        .init(
            pattern: "post /v1/breaches",
            method: .post,
            uri: { _ in "/v1/breaches" },
            body: { f in
                [
                    "found": "2026-03-03T10:00:00+13:00", "description": "A report went to the wrong school.",
                    "disclosures": [.number(Double(f.disclosure))],
                ]
            },
            allowed: [.privacyOfficer: .created]
        ),
        .init(
            pattern: "get /v1/breaches/{breach}",
            method: .get,
            uri: { f in "/v1/breaches/\(f.breach)" },
            body: { _ in nil },
            allowed: [.privacyOfficer: .ok]
        ),
        .init(
            pattern: "get /v1/breaches/{breach}/report",
            method: .get,
            uri: { f in "/v1/breaches/\(f.breach)/report" },
            body: { _ in nil },
            allowed: [.privacyOfficer: .ok]
        ),
        .init(
            pattern: "post /v1/breaches/{breach}/assessment",
            method: .post,
            uri: { f in "/v1/breaches/\(f.breach)/assessment" },
            body: { _ in
                ["seriousHarm": true, "factors": ["sensitive-information"], "reasons": "Health information."]
            },
            allowed: [.privacyOfficer: .created]
        ),
        .init(
            pattern: "post /v1/breaches/{breach}/commissioner",
            method: .post,
            uri: { f in "/v1/breaches/\(f.breach)/commissioner" },
            body: { _ in ["reference": "NU-1234"] },
            // The breach has not been assessed yet: the privacy officer reaches the check, which refuses.
            allowed: [.privacyOfficer: .conflict]
        ),
        .init(
            pattern: "get /v1/breaches/{breach}/notices/{subject}",
            method: .get,
            uri: { f in "/v1/breaches/\(f.breach)/notices/\(f.subject)?lang=mi&format=text" },
            body: { _ in nil },
            allowed: [.privacyOfficer: .ok]
        ),
        .init(
            pattern: "post /v1/breaches/{breach}/notices/{subject}",
            method: .post,
            uri: { f in "/v1/breaches/\(f.breach)/notices/\(f.subject)" },
            body: { _ in ["method": "post", "languages": ["en", "mi"]] },
            allowed: [.privacyOfficer: .created]
        ),
        .init(
            pattern: "post /v1/decisions",
            method: .post,
            uri: { _ in "/v1/decisions" },
            body: { f in decisionBody(f.subject) },
            allowed: [.memberOwn: .created, .memberEnrolled: .created, .memberOther: .notFound, .facilitator: .created]
        ),
        .init(
            pattern: "post /v1/disclosures",
            method: .post,
            uri: { _ in "/v1/disclosures" },
            body: { f in
                [
                    "subject": .string(f.subject), "recipient": "rtlb", "purpose": "referral",
                    "information": ["register-entry"], "channel": "secure-email", "storageRegion": "nz",
                ]
            },
            allowed: [.memberOwn: .created, .memberEnrolled: .created, .memberOther: .notFound, .facilitator: .created]
        ),
        .init(
            pattern: "post /v1/disclosures/{disclosure}/review",
            method: .post,
            uri: { f in "/v1/disclosures/\(f.disclosure)/review" },
            body: { _ in ["outcome": "justified"] },
            allowed: [.privacyOfficer: .created]
        ),
        .init(
            pattern: "get /v1/subjects/{subject}/report",
            method: .get,
            uri: { f in "/v1/subjects/\(f.subject)/report" },
            body: { _ in nil },
            allowed: [.privacyOfficer: .ok]
        ),
        .init(
            pattern: "get /v1/findings",
            method: .get,
            uri: { _ in "/v1/findings" },
            body: { _ in nil },
            allowed: [.privacyOfficer: .ok]
        ),
    ]

    @Test("every route is in the matrix")
    func complete() async throws {
        try await Cluster.run { cluster, _ in
            let routes = try cluster.routePatterns()
            #expect(routes == Set(Self.routes.map(\.pattern)))
        }
    }

    @Test("each role gets what it may have, and only that", arguments: MatrixCaller.allCases)
    func matrix(_ caller: MatrixCaller) async throws {
        try await Cluster.run { cluster, app in
            let services = cluster.services
            try await app.test(.router) { client in
                for (n, route) in Self.routes.enumerated() {
                    // Fresh fixtures for every request, so that one that changes state cannot affect the next.
                    let nsn = String(100_000_000 + n * 10 + MatrixCaller.allCases.firstIndex(of: caller)!)
                    let subject =
                        try await services.subjects.register(
                            SubjectInput(birthMonth: "2015-06", nsn: nsn),
                            actor: EntryActor(org: "school-a")
                        ).entry.subject ?? ""
                    let consent = try await cluster.consent(subject)
                    // school-c enrols the same child by NSN: it knows them now, but not school-a's consent.
                    _ = try await services.subjects.register(
                        SubjectInput(birthMonth: "2015-06", nsn: nsn),
                        actor: EntryActor(org: "school-c")
                    )
                    let credential = try await services.credentials.issue(
                        .init(org: "school-a", role: .member, holder: "a test")
                    ).id
                    let disclosure = try await services.disclosures.record(
                        DisclosureInput(
                            subject: subject,
                            share: Cluster.referral,
                            date: "2026-03-01"
                        ),
                        actor: EntryActor(org: "school-a")
                    ).index
                    let breach =
                        try await services.breaches.record(
                            BreachInput(
                                found: "2026-03-02T09:00:00Z",
                                description: "Sent to the wrong address.",
                                disclosures: [disclosure]
                            ),
                            actor: EntryActor(org: "office")
                        ).entry.body as? BreachRecorded
                    let fixtures = MatrixFixtures(
                        subject: subject,
                        consent: consent,
                        credential: credential,
                        nsn: nsn,
                        disclosure: disclosure,
                        breach: breach?.breach ?? "b-0"
                    )
                    let expected = route.allowed[caller] ?? (caller == .anonymous ? .unauthorized : .forbidden)
                    let response = try await client.execute(
                        uri: route.uri(fixtures),
                        method: route.method,
                        headers: cluster.headers(caller.token),
                        body: route.body(fixtures).map(buffer)
                    )
                    #expect(
                        response.status == expected,
                        "\(route.pattern) as \(caller): \(String(buffer: response.body).prefix(200))"
                    )
                    if response.status.code >= 400 {
                        #expect(
                            response.headers[.contentType] == "application/problem+json",
                            "\(route.pattern) as \(caller)"
                        )
                    }
                }
            }
        }
    }
}
