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

@Suite("New Zealand's day and time")
struct LocalTimeTests {
    let nz = LocalTime.newZealand

    func moment(_ text: String) throws -> Moment { try #require(Moment(text)) }

    @Test("the day turns at midnight in New Zealand, not at midnight UTC")
    func midnight() throws {
        // 11:30 UTC on 7 December is half past midnight on the 8th in Auckland (NZDT, +13).
        #expect(nz.day(try moment("2026-12-07T10:59:59Z")).description == "2026-12-07")
        #expect(nz.day(try moment("2026-12-07T11:00:00Z")).description == "2026-12-08")
        #expect(nz.plain(try moment("2026-12-07T11:30:00Z")) == "8 December 2026, 12:30 am NZDT")
        // In winter (NZST, +12) the day turns at noon UTC.
        #expect(nz.day(try moment("2026-07-01T11:59:59Z")).description == "2026-07-01")
        #expect(nz.day(try moment("2026-07-01T12:00:00Z")).description == "2026-07-02")
    }

    @Test("the clock changes: back an hour on the first Sunday of April, forward on the last Sunday of September")
    func clockChanges() throws {
        // 5 April 2026, 3 am NZDT is 2 am NZST: 14:00 UTC on the 4th.
        #expect(nz.plain(try moment("2026-04-04T13:30:00Z")) == "5 April 2026, 2:30 am NZDT")
        #expect(nz.plain(try moment("2026-04-04T14:30:00Z")) == "5 April 2026, 2:30 am NZST")
        // The 2:30 shown twice is read as the first.
        let day5 = try #require(Day("2026-04-05"))
        #expect(nz.moment(on: day5, hour: 2, minute: 30).description == "2026-04-04T13:30:00Z")
        #expect(nz.moment(on: day5, hour: 9, minute: 0).description == "2026-04-04T21:00:00Z")
        // 27 September 2026, 2 am NZST is 3 am NZDT: 14:00 UTC on the 26th.
        #expect(nz.plain(try moment("2026-09-26T13:30:00Z")) == "27 September 2026, 1:30 am NZST")
        #expect(nz.plain(try moment("2026-09-26T14:30:00Z")) == "27 September 2026, 3:30 am NZDT")
        // The 2:30 that never happens is read as if the clock had not moved.
        let day27 = try #require(Day("2026-09-27"))
        #expect(nz.moment(on: day27, hour: 2, minute: 30).description == "2026-09-26T14:30:00Z")
        #expect(nz.moment(on: day27, hour: 9, minute: 0).description == "2026-09-26T20:00:00Z")
    }

    @Test(
        "dates as people in New Zealand type them",
        arguments: [
            ("31/12/2027", "2027-12-31"), ("31-12-2027", "2027-12-31"), ("31.12.2027", "2027-12-31"),
            ("31 Dec 2027", "2027-12-31"), ("31 December 2027", "2027-12-31"), ("31 Hakihea 2027", "2027-12-31"),
            ("2027-12-31", "2027-12-31"), ("1/2/27", "2027-02-01"), (" 5 April 2026 ", "2026-04-05"),
            ("3 Whiringa-ā-nuku 2026", "2026-10-03"), ("3 whiringa-a-nuku 2026", "2026-10-03"),
        ]
    )
    func days(_ typed: String, _ day: String) {
        #expect(TypedDates.day(typed)?.description == day)
    }

    @Test(
        "what is not a day is refused",
        arguments: ["31/02/2027", "12/31/2027", "tomorrow", "2027", "31/12", "", "1/13/2027"]
    )
    func notDays(_ typed: String) {
        #expect(TypedDates.day(typed) == nil)
    }

    @Test(
        "birth months and times of day as people type them",
        arguments: [
            ("06/2015", "2015-06"), ("6/2015", "2015-06"), ("June 2015", "2015-06"), ("Jun 2015", "2015-06"),
            ("2015-06", "2015-06"), ("Pipiri 2015", "2015-06"),
        ]
    )
    func months(_ typed: String, _ month: String) {
        #expect(TypedDates.month(typed) == month)
    }

    @Test("a breach time typed in New Zealand time, or as RFC 3339")
    func times() throws {
        #expect(TypedDates.moment("1/12/2026 9:30 am", in: nz)?.description == "2026-11-30T20:30:00Z")
        #expect(TypedDates.moment("1/12/2026 9.30pm", in: nz)?.description == "2026-12-01T08:30:00Z")
        #expect(TypedDates.moment("1 Dec 2026 21:30", in: nz)?.description == "2026-12-01T08:30:00Z")
        #expect(TypedDates.moment("1/7/2026 12:00 pm", in: nz)?.description == "2026-07-01T00:00:00Z")
        #expect(TypedDates.moment("2026-12-01T09:30:00+13:00", in: nz)?.description == "2026-11-30T20:30:00Z")
        for bad in ["1/12/2026", "1/12/2026 25:00", "1/12/2026 13:00 pm", "9:30 am", "1/12/2026 9:30 xm"] {
            #expect(TypedDates.moment(bad, in: nz) == nil, "\(bad)")
        }
    }

    @Test("the pages live on New Zealand's day: at half past midnight on the 8th (11:30 UTC on the 7th)")
    func pagesOnNewZealandsDay() async throws {
        // 2026-12-07T11:30Z: the 8th in Auckland, the 7th in UTC.
        let now = Date(timeIntervalSince1970: 1_796_643_000)
        #expect(LedgerTime.format(now).hasPrefix("2026-12-07T11:30"))
        let atHalfPastMidnight: (inout ServerConfiguration) -> Void = { $0.ledger.clock = { now } }
        try await Cluster.run(configure: atHalfPastMidnight) { cluster, app in
            let subject = try await cluster.child()
            #expect(cluster.services.core.today.description == "2026-12-08")
            try await app.test(.router) { client in
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                let form = try await school.get(client, "/children/\(subject)/consents/new")
                #expect(form.html.contains("name=\"informedDate\" value=\"08/12/2026\""))
                // Recorded without a day typed: the day in New Zealand.
                let response = try await school.submit(
                    client,
                    form,
                    "/children/\(subject)/consents",
                    [("action", "record")] + consentFields.filter { $0.0 != "informedDate" }
                )
                let receipt = try await school.follow(client, response)
                #expect(receipt.html.contains("8 December 2026"))
                let consent = try #require(response.headers[.location]?.split(separator: "/").dropFirst().first)
                let withdraw = try await school.get(client, "/consents/\(consent)/withdraw")
                #expect(withdraw.html.contains("name=\"date\" value=\"08/12/2026\""))
                let withdrawn = try await school.follow(
                    client,
                    try await school.submit(
                        client,
                        withdraw,
                        "/consents/\(consent)/withdraw",
                        [("by", "parent"), ("date", "08/12/2026"), ("how", "a phone call"), ("confirm", "yes")]
                    )
                )
                #expect(withdrawn.html.contains("Withdrawn on 8 December 2026"))
                // The findings are judged as of the 8th.
                var officer = FormBrowser()
                _ = try await officer.signIn(client, token: cluster.tokens["privacy"] ?? "")
                let findings = try await officer.get(client, "/findings")
                #expect(findings.html.contains("as of 8 December 2026"))
            }
        }
    }
}
