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

@Suite("Edges of every parameter")
struct EdgeTests {
    @Test("the three requests that once stopped the service are refused, and the service still answers")
    func onceFatal() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            try await app.test(.router) { client in
                let before = cluster.size
                let disclosure = try await client.execute(
                    uri: "/v1/disclosures",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer([
                        "subject": .string(subject), "decision": -1, "recipient": "rtlb", "purpose": "referral",
                        "information": ["register-entry"], "channel": "secure-email", "storageRegion": "nz",
                    ])
                )
                #expect(disclosure.status.code >= 400 && disclosure.status.code < 500, "\(disclosure.status)")
                let review = try await client.execute(
                    uri: "/v1/disclosures/9223372036854775807/review",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["outcome": "justified"])
                )
                #expect(review.status.code >= 400 && review.status.code < 500, "\(review.status)")
                let entries = try await client.execute(
                    uri: "/v1/ledger/entries?start=18446744073709551000",
                    method: .get,
                    headers: cluster.headers("auditor")
                )
                #expect(entries.status.code < 500, "\(entries.status)")
                #expect(cluster.size == before)
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
            }
        }
    }
}
