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

/// The Privacy Act's duties after a share: IPP 3A notices, the breach register, renewal reminders.
@Suite struct DutiesTests {
    /// The cluster, with a member credential for the RTLB service and contact details on the organisations.
    static func run(_ body: (Cluster, any ApplicationProtocol) async throws -> Void) async throws {
        try await Cluster.run { base, app in
            var cluster = base
            cluster.tokens["rtlb"] = try await base.services.credentials.issue(
                .init(org: "rtlb", role: .member, holder: "a test")
            )
            .token
            try await body(cluster, app)
        }
    }

    func decide(
        _ cluster: Cluster,
        _ subject: String,
        _ share: Share,
        seriousThreat: Bool? = nil
    ) async throws
        -> UInt64
    {
        let (decision, recorded) = try await cluster.services.decisions.decideAndRecord(
            ShareRequest(
                subject: subject,
                share: share,
                date: "2026-03-02",
                seriousThreat: seriousThreat,
                requester: "school-a",
                requesterRole: "member"
            ),
            actor: Cluster.schoolA
        )
        #expect(decision.effect == .permit, "\(decision.reasons)")
        return recorded.receipt.index
    }

    func notice(_ cluster: Cluster, _ index: Int) async throws -> CollectionNoticeDuty? {
        (try cluster.services.core.entry(at: UInt64(index))?.body as? DisclosureRecord)?.notice
    }

    @Test(
        "IPP 3A: a share the consent named owes no notice and cites it; beyond it, or under a serious threat, one is due"
    )
    func whetherDue() async throws {
        try await Self.run { cluster, _ in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            let covered = try await cluster.services.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    decision: try await decide(cluster, subject, Cluster.referral),
                    share: Cluster.referral,
                    date: "2026-03-02"
                ),
                actor: Cluster.schoolA
            ).index
            #expect(try await notice(cluster, covered) == CollectionNoticeDuty(due: false, consent: consent))
            // No decision: due ten working days later (Monday 2 March → Monday 16 March).
            let bare = try await cluster.disclose(subject, date: "2026-03-02")
            #expect(try await notice(cluster, bare) == CollectionNoticeDuty(due: true, by: "2026-03-16"))
            // A permitted share of information the consent did not name, because of a serious threat.
            var threat = Cluster.referral
            threat.information = ["health-disability"]
            let serious = try await cluster.services.disclosures.record(
                DisclosureInput(
                    subject: subject,
                    decision: try await decide(cluster, subject, threat, seriousThreat: true),
                    share: threat,
                    date: "2026-04-01"
                ),
                actor: Cluster.schoolA
            ).index
            // Across Good Friday and Easter Monday (Policies/duties.yaml).
            #expect(try await notice(cluster, serious) == CollectionNoticeDuty(due: true, by: "2026-04-17"))
            let owed = cluster.services.core.read { $0.collectionNoticesByOrg["rtlb"] }
            #expect(owed == [bare, serious])
        }
    }

    @Test("IPP 3A over HTTP: the recipient sees its notices, reads the notice in English and te reo, records it once")
    func collectionNotices() async throws {
        try await Self.run { cluster, app in
            _ = try await cluster.services.organisations.register(
                .init(
                    id: "rtlb-north",
                    kind: "rtlb",
                    name: "RTLB North",
                    contact: "privacy@rtlb-north.example.nz",
                    law: "Education and Training Act 2020, ss 34 and 165"
                )
            )
            let subject = try await cluster.child()
            let other = try await cluster.child()
            let first = try await cluster.disclose(subject, date: "2026-03-02")
            let second = try await cluster.disclose(subject, date: "2026-03-03")
            let otherChild = try await cluster.disclose(other, date: "2026-03-03")
            var north = Cluster.referral
            north.recipient = "rtlb-north"
            let toNorth = try await cluster.services.disclosures.record(
                DisclosureInput(subject: subject, share: north, date: "2026-03-04"),
                actor: Cluster.schoolA
            ).index
            try await app.test(.router) { client in
                var response = try await client.execute(
                    uri: "/v1/notices",
                    method: .get,
                    headers: cluster.headers("rtlb")
                )
                #expect(response.status == .ok)
                let due = try #require(response.json["collections"]?["items"]?.arrayValue)
                #expect(due.compactMap { $0["disclosure"]?.integerValue } == [first, second, otherChild])
                #expect(due.first?["dueBy"] == "2026-03-16")
                #expect(due.first?["overdue"] == true)
                #expect(due.first?["action"]?.stringValue?.contains("IPP 3A") == true)
                #expect(response.json["collections"]?["total"] == 3)
                // At most `limit` of each list, the oldest first, with the total.
                response = try await client.execute(
                    uri: "/v1/notices?limit=1",
                    method: .get,
                    headers: cluster.headers("rtlb")
                )
                #expect(response.json["collections"]?["items"]?.arrayValue?.count == 1)
                #expect(response.json["collections"]?["total"] == 3)
                for bad in ["limit=0", "limit=1001", "limit=x", "status=acknowledged"] {
                    response = try await client.execute(
                        uri: "/v1/notices?\(bad)",
                        method: .get,
                        headers: cluster.headers("rtlb")
                    )
                    #expect(response.status == .badRequest, "\(bad)")
                }

                // The notice itself: every item IPP 3A asks for.
                response = try await client.execute(
                    uri: "/v1/notices/collections/\(toNorth)/document?lang=both&format=text",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                for item in [
                    "We hold information about your child", "referral to RTLB", "the child's entry on the cluster's",
                    "RTLB North, privacy@rtlb-north.example.nz", "Where it came from", "school-a",
                    "Education and Training Act 2020", "principles 6 and 7", "Privacy Commissioner",
                    "Kei a mātou he pārongo mō tō tamaiti", "Te Mana Mātāpono Matatapu", "Not yet reviewed",
                ] {
                    #expect(text.contains(item), "the notice lacks \(item)")
                }
                response = try await client.execute(
                    uri: "/v1/notices/collections/\(toNorth)/document?lang=mi",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(String(buffer: response.body).contains("<html lang=\"mi\">"))
                #expect(!String(buffer: response.body).contains("<script"))
                // Another school neither sees nor reads it.
                response = try await client.execute(
                    uri: "/v1/notices/collections/\(toNorth)/document",
                    method: .get,
                    headers: cluster.headers("b")
                )
                #expect(response.status == .notFound)

                // Bad input: a clear problem naming the field, nothing recorded.
                let size = cluster.size
                for (body, status, field) in [
                    (
                        ["disclosures": [], "method": "email"] as JSONValue, HTTPResponse.Status.badRequest,
                        "disclosures"
                    ),
                    (["disclosures": [.number(Double(first))], "method": "pigeon"], .badRequest, "method"),
                    (
                        ["disclosures": [.number(Double(first)), .number(Double(otherChild))], "method": "email"],
                        .badRequest, "disclosures[1]"
                    ),
                    (["disclosures": [999_999], "method": "email"], .notFound, "disclosures[0]"),
                    (
                        ["disclosures": [.number(Double(first))], "method": "email", "languages": ["fr"]], .badRequest,
                        "languages[0]"
                    ),
                    (
                        ["disclosures": [.number(Double(first))], "method": "email", "date": "2026-03-01"], .badRequest,
                        "date"
                    ),
                ] {
                    response = try await client.execute(
                        uri: "/v1/notices/collections",
                        method: .post,
                        headers: cluster.headers("rtlb"),
                        body: buffer(body)
                    )
                    #expect(response.status == status, "\(body): \(String(buffer: response.body))")
                    #expect(response.json["field"]?.stringValue == field, "\(body)")
                }
                // Another organisation cannot record it.
                response = try await client.execute(
                    uri: "/v1/notices/collections",
                    method: .post,
                    headers: cluster.headers("b"),
                    body: buffer(["disclosures": [.number(Double(first))], "method": "email"])
                )
                #expect(response.status == .notFound)
                #expect(cluster.size == size)

                // The RTLB service sends one notice for both disclosures about the child; once.
                let sent: JSONValue = [
                    "disclosures": [.number(Double(first)), .number(Double(second))], "method": "email",
                    "languages": ["en", "mi"], "date": "2026-03-05",
                ]
                response = try await client.execute(
                    uri: "/v1/notices/collections",
                    method: .post,
                    headers: cluster.headers("rtlb"),
                    body: buffer(sent)
                )
                #expect(response.status == .created)
                #expect(response.json["onBehalfOf"] == nil)
                response = try await client.execute(
                    uri: "/v1/notices/collections",
                    method: .post,
                    headers: cluster.headers("rtlb"),
                    body: buffer(sent)
                )
                #expect(response.status == .conflict)
                // School-a sends the one to RTLB North on its behalf: the record says so.
                response = try await client.execute(
                    uri: "/v1/notices/collections",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["disclosures": [.number(Double(toNorth))], "method": "post"])
                )
                #expect(response.status == .created)
                #expect(response.json["onBehalfOf"] == ["rtlb-north"])

                // A privacy officer excuses the other child's: a reason is required.
                let exception = "/v1/notices/collections/\(otherChild)/exception"
                response = try await client.execute(
                    uri: exception,
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["code": "already-aware", "reason": "  "])
                )
                #expect(response.status == .badRequest)
                #expect(response.json["field"] == "reason")
                response = try await client.execute(
                    uri: exception,
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["code": "no-reason", "reason": "x"])
                )
                #expect(response.json["field"] == "code")
                response = try await client.execute(
                    uri: exception,
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["code": "prejudice-to-safety", "reason": "A protection order is in place."])
                )
                #expect(response.status == .created)

                response = try await client.execute(
                    uri: "/v1/notices",
                    method: .get,
                    headers: cluster.headers("rtlb")
                )
                #expect(response.json["collections"]?["items"]?.arrayValue?.isEmpty == true)
                response = try await client.execute(
                    uri: "/v1/notices?status=done",
                    method: .get,
                    headers: cluster.headers("rtlb")
                )
                let done = try #require(response.json["collections"]?["items"]?.arrayValue)
                #expect(done.compactMap { $0["status"]?.stringValue } == ["sent", "sent", "exception"])
                // The state rebuilt from the ledger is the same.
                let replayed = try ConsentState.replay(cluster.services.ledger)
                #expect(replayed == cluster.services.core.snapshot)
            }
            // The finding is gone for what was done.
            let findings = try LedgerAudit.run(
                EntryReader(path: cluster.path),
                options: AuditOptions(asOf: try #require(Day("2026-04-01")))
            ).findings.filter { $0.kind == .indirectCollectionNoticeOverdue }
            #expect(findings.isEmpty)
        }
    }

    @Test("IPP 3A finding: a notice not sent by its day is overdue, named for the recipient")
    func overdueFinding() async throws {
        try await Self.run { cluster, _ in
            let subject = try await cluster.child()
            let disclosure = try await cluster.disclose(subject, date: "2026-03-02")
            func overdue(_ day: String) throws -> [Finding] {
                try LedgerAudit.run(
                    EntryReader(path: cluster.path),
                    options: AuditOptions(asOf: try #require(Day(day)))
                )
                .findings.filter { $0.kind == .indirectCollectionNoticeOverdue }
            }
            #expect(try overdue("2026-03-16").isEmpty)
            let found = try overdue("2026-03-17")
            #expect(found.map(\.indexes) == [[UInt64(disclosure)]])
            #expect(found.first?.recipients == ["rtlb"])
            #expect(found.first?.severity == .medium)
        }
    }

    @Test(
        "the breach register: the children found from the ledger, the clocks, the assessment, the notices, the report"
    )
    func breaches() async throws {
        try await Self.run { cluster, app in
            let one = try await cluster.child()
            let two = try await cluster.child()
            let three = try await cluster.child()
            let early = try await cluster.disclose(one, date: "2026-02-20")
            let a = try await cluster.disclose(one, date: "2026-03-02")
            var health = Cluster.referral
            health.information = ["register-entry", "health-disability"]
            let b = try await cluster.services.disclosures.record(
                DisclosureInput(subject: two, share: health, date: "2026-03-03"),
                actor: Cluster.schoolA
            ).index
            var elsewhere = Cluster.referral
            elsewhere.recipient = "school-b"
            _ = try await cluster.services.disclosures.record(
                DisclosureInput(subject: three, share: elsewhere, date: "2026-03-03"),
                actor: Cluster.schoolA
            )
            try await app.test(.router) { client in
                let size = cluster.size
                // Bad input: nothing recorded.
                for (body, field) in [
                    (["found": "2026-03-05T09:00:00+13:00", "description": "Lost."] as JSONValue, "recipient"),
                    (
                        [
                            "found": "2026-03-05T09:00:00+13:00", "description": "Lost.", "recipient": "rtlb",
                            "from": "2026-03-04", "to": "2026-03-01",
                        ], "to"
                    ),
                    (["found": "2026-03-05", "description": "Lost.", "recipient": "rtlb"], "found"),
                    (["found": "2099-03-05T09:00:00Z", "description": "Lost.", "recipient": "rtlb"], "found"),
                    (["found": "2026-03-05T09:00:00Z", "description": "", "recipient": "rtlb"], "description"),
                    (["found": "2026-03-05T09:00:00Z", "description": "Lost.", "recipient": "nobody"], "recipient"),
                    (["found": "2026-03-05T09:00:00Z", "description": "Lost.", "channel": "pigeon"], "channel"),
                    (
                        [
                            "found": "2026-03-05T09:00:00Z", "description": "Lost.", "recipient": "rtlb",
                            "from": "2026-01-01", "to": "2026-01-31",
                        ], "recipient"
                    ),
                    (["found": "2026-03-05T09:00:00Z", "description": "Lost.", "disclosures": [1]], "disclosures[0]"),
                ] {
                    let response = try await client.execute(
                        uri: "/v1/breaches",
                        method: .post,
                        headers: cluster.headers("privacy"),
                        body: buffer(body)
                    )
                    #expect(response.status.code >= 400 && response.status.code < 500, "\(body)")
                    #expect(response.json["field"]?.stringValue == field, "\(body): \(String(buffer: response.body))")
                }
                #expect(cluster.size == size)
                // School staff may not see the register.
                var response = try await client.execute(
                    uri: "/v1/breaches",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(response.status == .forbidden)

                // A misdirected email: everything sent to the RTLB service from 1 to 3 March.
                response = try await client.execute(
                    uri: "/v1/breaches",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer([
                        "found": "2026-03-05T09:00:00+13:00",
                        "description": "A spreadsheet of referrals was emailed to a parent by mistake.",
                        "recipient": "rtlb", "from": "2026-03-01", "to": "2026-03-03",
                    ])
                )
                #expect(response.status == .created, "\(String(buffer: response.body))")
                let id = try #require(response.json["breach"]?.stringValue)
                let index = UInt64(try #require(response.json["index"]?.integerValue))
                #expect(response.json["children"] == 2)
                #expect(response.json["disclosures"] == 2)
                #expect(response.json["assessBy"] == "2026-03-07T20:00:00Z")
                let record = try #require(try cluster.services.core.entry(at: index)?.body as? BreachRecorded)
                #expect(record.affected.map(\.subject) == [one, two])
                #expect(record.affected.flatMap(\.disclosures) == [a, b])
                #expect(!record.affected.flatMap(\.disclosures).contains(early))
                // The description is sealed in the ledger.
                let raw = String(decoding: try #require(try cluster.services.ledger.entry(at: index)), as: UTF8.self)
                #expect(!raw.contains("spreadsheet"))

                func findings(_ now: String) throws -> [FindingKind] {
                    var options = AuditOptions(asOf: try #require(Day(String(now.prefix(10)))))
                    options.now = Moment(now)
                    return try LedgerAudit.run(EntryReader(path: cluster.path), options: options).findings.map(\.kind)
                        .filter { $0.rawValue.hasPrefix("breach") }
                }
                #expect(try findings("2026-03-07T19:00:00Z") == [])
                #expect(try findings("2026-03-07T21:00:00Z") == [.breachAssessmentDue])

                response = try await client.execute(
                    uri: "/v1/breaches/\(id)",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(response.json["sensitive"]?.arrayValue?.first?["code"] == "health-disability")
                #expect(response.json["status"] == "assessment-due")

                // The Commissioner cannot be notified before the assessment; a factor must be one the Act lists.
                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/commissioner",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["reference": "NU-2026-0042"])
                )
                #expect(response.status == .conflict)
                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/assessment",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["seriousHarm": true, "factors": ["vibes"], "reasons": "x"])
                )
                #expect(response.json["field"] == "factors[0]")
                let assessment: JSONValue = [
                    "seriousHarm": true, "factors": ["sensitive-information", "who-obtained"],
                    "reasons": "Health information about a child went to someone outside the cluster.",
                    "assessed": "2026-03-05T15:00:00+13:00",
                ]
                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/assessment",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(assessment)
                )
                #expect(response.status == .created)
                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/assessment",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(assessment)
                )
                #expect(response.status == .conflict)
                #expect(try findings("2026-03-07T21:00:00Z") == [.breachNotificationOverdue])

                // The notice to the first child's whānau, in te reo Māori; an unaffected child has none.
                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/notices/\(one)?lang=mi&format=text",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(String(buffer: response.body).contains("He whati matatapu"))
                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/notices/\(three)",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["method": "email"])
                )
                #expect(response.status == .notFound)
                for subject in [one, two] {
                    response = try await client.execute(
                        uri: "/v1/breaches/\(id)/notices/\(subject)",
                        method: .post,
                        headers: cluster.headers("privacy"),
                        body: buffer(["method": "phone", "languages": ["mi"]])
                    )
                    #expect(response.status == .created)
                }
                #expect(try findings("2026-03-07T21:00:00Z") == [.breachNotificationOverdue])
                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/commissioner",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["reference": "NU-2026-0042", "notified": "2026-03-06T10:00:00+13:00"])
                )
                #expect(response.status == .created)
                #expect(try findings("2026-03-07T21:00:00Z") == [])

                response = try await client.execute(
                    uri: "/v1/breaches/\(id)/report?format=text",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                let report = String(buffer: response.body)
                for item in [
                    "When it was found:\n  5 March 2026, 9:00 am", "between 1 March 2026 and 3 March 2026",
                    "A spreadsheet of referrals", "People affected:\n  2 children", "Sensitive: health and disability",
                    "Likely to cause serious harm", "who obtained or may obtain", "reference NU-2026-0042",
                    "Affected people notified:\n  2 of 2",
                ] {
                    #expect(report.contains(item), "the report lacks \(item)")
                }
                response = try await client.execute(
                    uri: "/v1/breaches",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(response.json["breaches"]?.arrayValue?.first?["status"] == "notified")
                // The child's report (IPP 6) tells the whānau of the breach and the notice.
                response = try await client.execute(
                    uri: "/v1/subjects/\(two)/report?format=text",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                let text = String(buffer: response.body)
                #expect(
                    text.contains(
                        "A privacy breach found on 5 March 2026, 9:00 am NZDT involved the child's information"
                    )
                )
                #expect(text.contains("told you on \(cluster.services.core.today.plain) of a privacy breach"))
                #expect(text.contains("breach  office"), "the appendix names the breach entry")
                #expect(try ConsentState.replay(cluster.services.ledger) == cluster.services.core.snapshot)
            }
        }
    }

    @Test("renewal reminders: a school's consents in force that come off the register within the policy's window")
    func renewals() async throws {
        try await Self.run { cluster, app in
            let subject = try await cluster.child()
            let today = cluster.services.core.today
            var body = consentBody
            if case .object(var o) = body {
                o["retention"] = ["until": .string(Day(number: today.number + 10).description)]
                body = .object(o)
            }
            let soon = try await cluster.services.consents.grant(
                subject: subject,
                try consentInput(body),
                actor: Cluster.schoolA
            ).index
            _ = try await cluster.consent(try await cluster.child())  // until 2027-12-31: not yet
            try await app.test(.router) { client in
                let response = try await client.execute(uri: "/v1/notices", method: .get, headers: cluster.headers("a"))
                let renewals = try #require(response.json["renewals"]?["items"]?.arrayValue)
                #expect(renewals.compactMap { $0["consent"]?.integerValue } == [soon])
                #expect(renewals.first?["daysLeft"] == 10)
                #expect(renewals.first?["action"]?.stringValue?.contains("supersedes \(soon)") == true)
                let other = try await client.execute(uri: "/v1/notices", method: .get, headers: cluster.headers("b"))
                #expect(other.json["renewals"]?["items"]?.arrayValue?.isEmpty == true)
            }
        }
    }
}

@Suite struct ReportPageTests {
    @Test("the child's report as a page links the styles Tiaki serves, which the strict CSP allows; no inline style")
    func styled() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            _ = try await cluster.consent(subject)
            try await app.test(.router) { client in
                let page = try await client.execute(
                    uri: "/v1/subjects/\(subject)/report?format=html",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                let html = String(buffer: page.body)
                #expect(html.contains("<link rel=\"stylesheet\" href=\"/v1/assets/report.css\">"))
                #expect(!html.contains("<style") && !html.contains("style=") && !html.contains("<script"))
                let csp = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
                #expect(csp.contains("style-src 'self'") && csp.contains("default-src 'none'"))
                #expect(!csp.contains("unsafe-inline"))
                let css = try await client.execute(uri: "/v1/assets/report.css", method: .get)
                #expect(css.status == .ok)
                #expect(css.headers[.contentType] == "text/css; charset=utf-8")
                #expect(String(buffer: css.body).contains("@media print"))
            }
        }
    }
}
