import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

@testable import TiakiServer

@Suite("Limits")
struct LimitsTests {
    @Test("too deep, too long a list, too big an entry: each refused with a problem that says which, nothing appended")
    func requestLimits() async throws {
        let larger: (inout ServerConfiguration) -> Void = { $0.bodyLimit = 256 * 1024 }
        try await Cluster.run(configure: larger) { cluster, app in
            let subject = try await cluster.child()
            try await app.test(.router) { client in
                let before = cluster.size
                let consents = "/v1/subjects/\(subject)/consents"
                let base = try #require(consentBody.objectValue)

                let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
                let r1 = try await client.execute(
                    uri: consents,
                    method: .post,
                    headers: cluster.headers("a"),
                    body: ByteBuffer(string: "{\"text\":" + deep + "}")
                )
                #expect(r1.status == .badRequest)
                #expect(r1.json["type"]?.stringValue == "urn:tiaki:problem:malformed-json")
                #expect(r1.json["detail"]?.stringValue?.contains("nested more than 32") == true, "\(r1.json)")

                var long = base
                long["purposes"] = .array(Array(repeating: "referral", count: 101))
                let r2 = try await client.execute(
                    uri: consents,
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(.object(long))
                )
                #expect(r2.status == .contentTooLarge)
                #expect(r2.json["field"]?.stringValue == "purposes")
                #expect(r2.json["detail"]?.stringValue == "purposes has more than 100 items")

                var nested = base
                nested["consenters"] = [["role": "parent", "extra": .array(Array(repeating: 1, count: 150))]]
                let r3 = try await client.execute(
                    uri: consents,
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(.object(nested))
                )
                #expect(r3.json["field"]?.stringValue == "consenters[0].extra")

                // Within the body limit, but the entry it makes is larger than one ledger entry may be.
                var big = base
                big["text"] = .string(String(repeating: "kōrero ", count: 10_000))
                let r4 = try await client.execute(
                    uri: consents,
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(.object(big))
                )
                #expect(r4.status == .contentTooLarge)
                #expect(r4.json["detail"]?.stringValue?.contains("one entry may hold") == true, "\(r4.json)")
                #expect(cluster.size == before)
            }
        }
    }

    @Test("a child may have at most 100 consents recorded; the 101st is a conflict that says so")
    func consentsPerSubject() async throws {
        try await Cluster.run { cluster, app in
            let id = try await cluster.child()
            for _ in 0..<ConsentService.maximumPerSubject {
                _ = try await cluster.consent(id)
            }
            try await app.test(.router) { client in
                let before = cluster.size
                let r = try await client.execute(
                    uri: "/v1/subjects/\(id)/consents",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(consentBody)
                )
                #expect(r.status == .conflict)
                #expect(r.json["type"]?.stringValue == "urn:tiaki:problem:too-many")
                #expect(r.json["detail"]?.stringValue?.contains("100 consents") == true)
                #expect(cluster.size == before)
            }
        }
    }

    @Test("racing withdrawals of one consent record one withdrawal; the others are told it was already withdrawn")
    func racingWithdrawals() async throws {
        try await Cluster.run { cluster, _ in
            let services = cluster.services
            let actor = Cluster.schoolA
            let id = try await cluster.child()
            let consent = try await cluster.consent(id)
            let before = cluster.size
            let outcomes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        do {
                            _ = try await services.consents.withdraw(
                                consent,
                                WithdrawalInput(by: "parent"),
                                actor: actor
                            )
                            return "recorded"
                        } catch let error as TiakiError {
                            return error.code.name
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "recorded" }.count == 1)
            #expect(outcomes.filter { $0 == "conflict" }.count == 15)
            #expect(cluster.size == before + 1)
        }
    }
    @Test(
        "text lengths are counted in Unicode scalars, as the document's maxLength counts them: 4000 accepted, 4001 refused"
    )
    func lengthsAsTheDocumentCounts() async throws {
        // "e" + U+0301 is one Character to Swift and two code points to JSON Schema.
        let accent = "e\u{301}"
        try await Cluster.run { cluster, app in
            let id = try await cluster.child()
            try await app.test(.router) { client in
                for (scalars, expected) in [(4000, HTTPResponse.Status.ok), (4001, .badRequest)] {
                    let consent = try await cluster.consent(id)
                    let reason = String(repeating: accent, count: scalars / 2) + (scalars % 2 == 1 ? "x" : "")
                    #expect(reason.count < 4000 && reason.unicodeScalars.count == scalars)
                    let r = try await client.execute(
                        uri: "/v1/consents/\(consent)/withdraw",
                        method: .post,
                        headers: cluster.headers("a"),
                        body: buffer(["by": "parent", "reason": .string(reason)])
                    )
                    #expect(r.status == expected, "\(scalars) scalars: \(r.json)")
                    if expected == .badRequest {
                        #expect(r.json["field"]?.stringValue == "reason")
                    }
                }
            }
        }
    }
}
