import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

@testable import TiakiServer

@Suite("One child, several organisations")
struct EnrolmentTests {
    @Test("registering an NSN another school knows enrols the child, with the same answer as a new child")
    func enrolmentRevealsNothing() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                func register(_ who: String, _ nsn: String) async throws -> TestResponse {
                    try await client.execute(
                        uri: "/v1/subjects",
                        method: .post,
                        headers: cluster.headers(who),
                        body: buffer(["birthMonth": "2015-06", "nsn": .string(nsn)])
                    )
                }
                let first = try await register("a", "123456789")
                let subject = try #require(first.json["subject"]?.stringValue)
                // school-b: one NSN nobody knows, one school-a knows. The answers differ in nothing but values.
                let fresh = try await register("b", "555555555")
                let known = try await register("b", "123456789")
                #expect(fresh.status == .created && known.status == .created)
                #expect(fresh.json.objectValue?.keys.sorted() == known.json.objectValue?.keys.sorted())
                #expect(known.json["subject"]?.stringValue == subject, "one child is one subject")
                #expect(cluster.services.core.read { $0.subjects[subject]?.enrolments } == ["school-a", "school-b"])
                // A second registration by the same school is its own business: a conflict.
                let again = try await register("b", "123456789")
                #expect(again.status == .conflict)
                // school-c never enrolled the child: not found, as for an NSN nobody knows.
                for uri in ["/v1/subjects?nsn=123456789", "/v1/subjects/\(subject)/consents"] {
                    let r = try await client.execute(uri: uri, method: .get, headers: cluster.headers("c"))
                    #expect(r.status == .notFound, "\(uri)")
                }
                let found = try await client.execute(
                    uri: "/v1/subjects?nsn=123456789",
                    method: .get,
                    headers: cluster.headers("b")
                )
                #expect(found.json["subject"]?.stringValue == subject)
            }
        }
    }

    @Test(
        "a transition from an early learning service to a school: asked, permitted, shared, enrolled, and seen by the school"
    )
    func transition() async throws {
        try await Cluster.run { cluster, app in
            let services = cluster.services
            _ = try await services.organisations.register(
                .init(id: "els-kereru", kind: "early-learning", name: "Kererū Early Learning")
            )
            let els = try await services.credentials.issue(.init(org: "els-kereru", role: .member, holder: "a test"))
                .token
            var headers = cluster.headers(nil)
            headers[.authorization] = "Bearer \(els)"
            let elsHeaders = headers
            try await app.test(.router) { client in
                let registered = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: elsHeaders,
                    body: buffer(["birthMonth": "2021-03", "nsn": "246813579", "name": "Mīhi"])
                )
                let subject = try #require(registered.json["subject"]?.stringValue)
                var consent = try #require(consentBody.objectValue)
                consent["purposes"] = ["transition"]
                consent["audience"] = ["kinds": ["school"]]
                let consented = try await client.execute(
                    uri: "/v1/subjects/\(subject)/consents",
                    method: .post,
                    headers: elsHeaders,
                    body: buffer(.object(consent))
                )
                #expect(consented.status == .created, "\(String(buffer: consented.body))")
                let consentID = try #require(consented.json["consent"]?.integerValue)
                var ask = try #require(decisionBody(subject, purpose: "transition").objectValue)
                ask["recipient"] = "school-b"
                let decided = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: elsHeaders,
                    body: buffer(.object(ask))
                )
                #expect(decided.json["effect"]?.stringValue == "permit", "\(String(buffer: decided.body))")
                let decision = try #require(decided.json["decision"]?.integerValue)
                var share = ask
                share["decision"] = .number(Double(decision))
                share["date"] = nil
                let shared = try await client.execute(
                    uri: "/v1/disclosures",
                    method: .post,
                    headers: elsHeaders,
                    body: buffer(.object(share))
                )
                #expect(shared.status == .created)
                #expect(shared.json["flags"] == [])

                // The school enrols the child by NSN and sees what was shared with it — and nothing else.
                let enrolled = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: cluster.headers("b"),
                    body: buffer(["birthMonth": "2021-03", "nsn": "246813579"])
                )
                #expect(enrolled.json["subject"]?.stringValue == subject)
                let received = try await client.execute(
                    uri: "/v1/subjects/\(subject)/disclosures",
                    method: .get,
                    headers: cluster.headers("b")
                )
                let disclosures = try #require(received.json["disclosures"]?.arrayValue)
                #expect(disclosures.count == 1)
                #expect(disclosures.first?["recipient"]?.stringValue == "school-b")
                #expect(disclosures.first?["purpose"]?.stringValue == "transition")
                #expect(disclosures.first?["noteSealed"] == nil)
                let consents = try await client.execute(
                    uri: "/v1/subjects/\(subject)/consents",
                    method: .get,
                    headers: cluster.headers("b")
                )
                #expect(consents.json["consents"] == [], "the service's consent is its own record")
                let theirs = try await client.execute(
                    uri: "/v1/consents/\(consentID)",
                    method: .get,
                    headers: cluster.headers("b")
                )
                #expect(theirs.status == .notFound)
                // The school's own request relies on its own agreement with the whānau, and it has none yet.
                var own = try #require(decisionBody(subject).objectValue)
                own["date"] = nil
                let asked = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("b"),
                    body: buffer(.object(own))
                )
                #expect(asked.json["effect"]?.stringValue == "deny")
                #expect(!String(buffer: asked.body).contains("Consent \(consentID)"), "nothing of another's record")
                // The service still sees its own, and the privacy officer's report shows the enrolment.
                let report = try await client.execute(
                    uri: "/v1/subjects/\(subject)/report?format=text",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(String(buffer: report.body).contains("enrolled the child"))
            }
        }
    }
}
