import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

@testable import TiakiServer

/// Telling recipients of a withdrawal: the withdrawal names them, they see it as a notice and acknowledge it.
@Suite struct NoticeTests {
    @Test("a withdrawal names who received information under it; they see a notice, acknowledge it once; others cannot")
    func withdrawalNotices() async throws {
        try await Cluster.run { base, app in
            var withRTLB = base
            withRTLB.tokens["rtlb"] = try await base.services.credentials.issue(
                .init(org: "rtlb", role: .member, holder: "a test")
            )
            .token
            let cluster = withRTLB
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            let otherConsent = try await cluster.consent(try await cluster.child())
            try await app.test(.router) { client in
                var response = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(decisionBody(subject))
                )
                let decision = try #require(response.json["decision"]?.integerValue)
                response = try await client.execute(
                    uri: "/v1/disclosures",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer([
                        "subject": .string(subject), "decision": .number(Double(decision)), "recipient": "rtlb",
                        "purpose": "referral", "information": ["register-entry"], "channel": "secure-email",
                        "storageRegion": "nz", "date": "2026-03-01",
                    ])
                )
                #expect(response.status == .created)
                let disclosure = try #require(response.json["disclosure"]?.integerValue)
                let withdrawal = try await cluster.services.consents.withdraw(
                    consent,
                    WithdrawalInput(by: "parent", date: "2026-03-05"),
                    actor: Cluster.schoolA
                )
                let body = try #require(withdrawal.entry.body as? ConsentWithdrawn)
                #expect(body.notify == [.init(org: "rtlb", disclosures: [disclosure])])
                // A withdrawal under which nothing was shared names no one.
                let quiet = try await cluster.services.consents.withdraw(
                    otherConsent,
                    WithdrawalInput(by: "parent"),
                    actor: Cluster.schoolA
                )
                #expect((quiet.entry.body as? ConsentWithdrawn)?.notify == nil)

                response = try await client.execute(uri: "/v1/notices", method: .get, headers: cluster.headers("rtlb"))
                #expect(response.status == .ok)
                let notice = try #require(response.json["withdrawals"]?["items"]?.arrayValue?.first)
                #expect(notice["consent"]?.integerValue == consent && notice["status"] == "due")
                #expect(notice["acknowledgeBy"] == "2026-03-15")
                #expect(notice["shared"]?.arrayValue?.first?["disclosure"]?.integerValue == disclosure)
                response = try await client.execute(uri: "/v1/notices", method: .get, headers: cluster.headers("b"))
                #expect(response.json["withdrawals"]?["items"]?.arrayValue?.isEmpty == true)

                let acknowledge = "/v1/notices/withdrawals/\(consent)/acknowledge"
                response = try await client.execute(
                    uri: acknowledge,
                    method: .post,
                    headers: cluster.headers("b"),
                    body: buffer([:])
                )
                #expect(response.status == .notFound)
                response = try await client.execute(
                    uri: acknowledge,
                    method: .post,
                    headers: cluster.headers("rtlb"),
                    body: buffer(["date": "2026-03-01"])
                )
                #expect(response.status == .badRequest && response.json["field"] == "date")
                response = try await client.execute(
                    uri: acknowledge,
                    method: .post,
                    headers: cluster.headers("rtlb"),
                    body: buffer(["dat": "2026-03-06"])
                )
                #expect(response.status == .badRequest && response.json["type"] == "urn:tiaki:problem:unknown-field")
                response = try await client.execute(
                    uri: acknowledge,
                    method: .post,
                    headers: cluster.headers("rtlb"),
                    body: buffer(["date": "2026-03-06"])
                )
                #expect(response.status == .created)
                response = try await client.execute(
                    uri: acknowledge,
                    method: .post,
                    headers: cluster.headers("rtlb"),
                    body: buffer([:])
                )
                #expect(response.status == .conflict)
                response = try await client.execute(uri: "/v1/notices", method: .get, headers: cluster.headers("rtlb"))
                #expect(response.json["withdrawals"]?["items"]?.arrayValue?.isEmpty == true)
                response = try await client.execute(
                    uri: "/v1/notices?status=done",
                    method: .get,
                    headers: cluster.headers("rtlb")
                )
                #expect(response.json["withdrawals"]?["items"]?.arrayValue?.first?["status"] == "acknowledged")
            }
            // The state rebuilt from the ledger holds the same notices and acknowledgement.
            let live = cluster.services.core.snapshot
            #expect(live.withdrawalNotices["rtlb"] == [consent])
            #expect(live.consents[consent]?.acknowledged["rtlb"] != nil)
        }
    }

    @Test("findings: a recipient that has not acknowledged after ten days; none once it has, and no 'to tell' for it")
    func findings() async throws {
        try await Cluster.run { cluster, _ in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            let share = Cluster.referral
            let decision = try await cluster.services.decisions.decideAndRecord(
                ShareRequest(
                    subject: subject,
                    share: share,
                    date: "2026-03-01",
                    requester: "school-a",
                    requesterRole: "member"
                ),
                actor: Cluster.schoolA
            )
            #expect(decision.decision.effect == .permit)
            _ = try await cluster.disclose(subject, decision: UInt64(decision.recorded.index), date: "2026-03-01")
            _ = try await cluster.services.consents.withdraw(
                consent,
                WithdrawalInput(by: "parent", date: "2026-03-05"),
                actor: Cluster.schoolA
            )
            func kinds(asOf: String) throws -> [FindingKind] {
                let options = AuditOptions(asOf: try #require(Day(asOf)))
                return try LedgerAudit.run(EntryReader(path: cluster.path), options: options).findings.map(\.kind)
            }
            #expect(!(try kinds(asOf: "2026-03-10")).contains(.withdrawalNotAcknowledged))
            #expect(try kinds(asOf: "2026-03-20").contains(.withdrawalNotAcknowledged))
            #expect(!(try kinds(asOf: "2026-03-20")).contains(.withdrawalRecipientsToTell))
            _ = try await cluster.services.notices.acknowledgeWithdrawal(
                consent,
                date: "2026-03-21",
                actor: EntryActor(org: "rtlb", credential: "test")
            )
            #expect(!(try kinds(asOf: "2026-03-25")).contains(.withdrawalNotAcknowledged))
        }
    }
}
