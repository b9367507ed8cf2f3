import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TiakiConsent
import TiakiModel

@testable import TiakiLedger
@testable import TiakiServer
@testable import TiakiWeb

/// The pages that record what is not a consent or a share (a refusal, a review, an erasure, an organisation), the
/// child's requests to share, the export download, and bad input on each.
@Suite struct WebRecordsTests {
    @Test(
        "a refusal, the requests and answers on the child's page, a review, an erasure: each from its form, and bad input records nothing"
    )
    func records() async throws {
        try await Cluster.run { cluster, app in
            let subject = try #require(
                try await cluster.services.subjects.register(
                    SubjectInput(birthMonth: "2015-06", name: "Aroha Parata"),
                    actor: Cluster.schoolA
                ).entry.subject
            )
            _ = try await cluster.consent(subject)
            try await app.test(.router) { client in
                let childPath = "/children/\(subject)"
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")

                // The whānau declined: a form as short as the withdrawal's, its missing items named.
                var page = try await school.get(client, "\(childPath)/refusals/new")
                #expect(page.status == .ok && page.html.contains("Who declined"))
                let csrf = FormBrowser.csrf(page)
                var size = cluster.size
                var response = try await school.submit(
                    client,
                    page,
                    "\(childPath)/refusals",
                    [("information[]", "behaviour"), ("by[]", "parent")]
                )
                #expect(response.status == .badRequest)
                #expect(
                    response.html.contains("<a href=\"#f-purposes\">Choose why the information will be shared.</a>")
                )
                #expect(response.html.contains("<a href=\"#f-informedMethod\">"))
                #expect(cluster.size == size)
                response = try await school.submit(
                    client,
                    page,
                    "\(childPath)/refusals",
                    [
                        ("purposes[]", "progress-review"), ("information[]", "behaviour"), ("by[]", "parent"),
                        ("informedDate", "20/11/2026"), ("informedMethod", "at a hui"),
                        ("reason", "We would rather talk first."),
                    ]
                )
                #expect(response.status == .seeOther && cluster.size == size + 1)
                page = try await school.follow(client, response)
                #expect(page.html.contains("Declined") && page.html.contains("That the whānau declined is recorded."))
                #expect(!page.html.contains("We would rather talk first."), "the reason is sealed, not shown")

                // Requests to share and their answers are on the child's page.
                page = try await school.get(client, "\(childPath)/share")
                response = try await school.follow(
                    client,
                    try await school.submit(client, page, "\(childPath)/share", askFields)
                )
                #expect(response.html.contains("Yes, you may share"))
                page = try await school.get(client, childPath)
                #expect(page.html.contains("<h2>Requests to share</h2>"))
                #expect(page.html.contains("Yes, you may share") && page.html.contains("→ rtlb"))

                // A share made without asking: the privacy officer sees it needs a review and records one.
                let disclosure = try await cluster.disclose(subject)
                var officer = FormBrowser()
                _ = try await officer.signIn(client, token: cluster.tokens["privacy"] ?? "")
                page = try await officer.get(client, childPath)
                #expect(page.html.contains("action=\"/disclosures/\(disclosure)/review\""))
                #expect(
                    page.html.contains("Needs a privacy officer&#39;s review")
                        || page.html.contains("Needs a privacy officer's review")
                )
                let officerCSRF = FormBrowser.csrf(page)
                size = cluster.size
                response = try await officer.post(
                    client,
                    "/disclosures/\(disclosure)/review",
                    [("csrf", officerCSRF), ("notes", "no outcome")]
                )
                #expect(response.status == .badRequest && response.html.contains("Choose justified or not justified."))
                #expect(cluster.size == size)
                response = try await officer.post(
                    client,
                    "/disclosures/\(disclosure)/review",
                    [("csrf", officerCSRF), ("outcome", "justified"), ("notes", "The referral was agreed in person.")]
                )
                #expect(response.status == .seeOther && cluster.size == size + 1)
                page = try await officer.follow(client, response)
                #expect(page.html.contains("Reviewed: Justified") && page.html.contains("The review is recorded."))
                // Reviewed again: nothing more is recorded, and the page says it was already.
                response = try await officer.post(
                    client,
                    "/disclosures/\(disclosure)/review",
                    [("csrf", officerCSRF), ("outcome", "not-justified")]
                )
                #expect(response.headers[.location]?.contains("already=1") == true && cluster.size == size + 1)
                // A school cannot review.
                response = try await school.post(
                    client,
                    "/disclosures/\(disclosure)/review",
                    [("csrf", csrf), ("outcome", "justified")]
                )
                #expect(response.status == .forbidden)

                // Erasure: a confirmation that says what will happen; without the box ticked, nothing happens.
                page = try await officer.get(client, "\(childPath)/erase")
                #expect(page.html.contains("This cannot be undone.") && page.html.contains("subject id only"))
                #expect(page.html.contains("Aroha Parata"))
                size = cluster.size
                response = try await officer.submit(client, page, "\(childPath)/erase", [("reason", "request")])
                #expect(response.status == .badRequest && response.html.contains("Tick the box to confirm."))
                #expect(cluster.size == size)
                #expect(try cluster.services.subjects.name(of: subject) != nil)
                response = try await officer.submit(
                    client,
                    page,
                    "\(childPath)/erase",
                    [("reason", "request"), ("confirm", "yes")]
                )
                #expect(response.status == .seeOther)
                let erased = try await officer.follow(client, response)
                #expect(erased.html.contains("were erased"))
                #expect(cluster.size == size + 1)
                #expect(try cluster.services.subjects.name(of: subject) == nil)
                // Erasing again from a new form, or recording for an erased child, is a page saying why, never a 500.
                let again = try await officer.get(client, "\(childPath)/erase")
                response = try await officer.submit(
                    client,
                    again,
                    "\(childPath)/erase",
                    [("reason", "request"), ("confirm", "yes")]
                )
                #expect(response.status == .gone, "\(response.status)")
                response = try await school.post(
                    client,
                    "\(childPath)/refusals",
                    [
                        ("csrf", csrf), ("purposes[]", "referral"), ("information[]", "behaviour"), ("by[]", "parent"),
                        ("informedMethod", "a call"),
                    ]
                )
                #expect(response.status == .gone && response.html.contains("<html lang=\"en-NZ\">"))
            }
        }
    }

    @Test("an organisation registered from the admin page; a taken or malformed id is said beside the field")
    func organisations() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                var admin = FormBrowser()
                _ = try await admin.signIn(client, token: cluster.tokens["admin"] ?? "")
                let page = try await admin.get(client, "/admin")
                #expect(page.html.contains("<option value=\"kohanga-reo\">a kōhanga reo</option>"))
                let csrf = FormBrowser.csrf(page)
                var response = try await admin.submit(
                    client,
                    page,
                    "/admin/orgs",
                    [
                        ("id", "kohanga-tui"), ("name", "Te Kōhanga Reo o Tūī"), ("kind", "kohanga-reo"),
                        ("contact", "tui@example.nz"),
                    ]
                )
                #expect(response.status == .seeOther)
                #expect(cluster.services.core.read { $0.organisations["kohanga-tui"]?.name } == "Te Kōhanga Reo o Tūī")
                let size = cluster.size
                response = try await admin.post(
                    client,
                    "/admin/orgs",
                    [("csrf", csrf), ("id", "kohanga-tui"), ("name", "Again"), ("kind", "kohanga-reo")]
                )
                #expect(response.status == .badRequest && response.html.contains("<a href=\"#f-id\">"))
                #expect(response.html.contains("An organisation with this short name is already registered."))
                response = try await admin.post(
                    client,
                    "/admin/orgs",
                    [("csrf", csrf), ("id", "Not An Id"), ("name", "X"), ("kind", "school")]
                )
                #expect(response.status == .badRequest && response.html.contains("value=\"Not An Id\""))
                #expect(cluster.size == size)
            }
        }
    }

    @Test("a form larger than the pages accept is a page saying so (413), not JSON; nothing recorded")
    func oversized() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            try await app.test(.router) { client in
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                let page = try await school.get(client, "/children/\(subject)/refusals/new")
                let size = cluster.size
                let response = try await school.post(
                    client,
                    "/children/\(subject)/refusals",
                    [("csrf", FormBrowser.csrf(page)), ("reason", String(repeating: "x", count: 100_000))]
                )
                #expect(response.status == .contentTooLarge)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.html.contains("larger than Tiaki accepts"))
                #expect(cluster.size == size)
            }
        }
    }

    @Test("the export bundle downloads as one tar archive, from the auditor's page and the API, and verifies")
    func export() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            _ = try await cluster.consent(subject)
            try await app.test(.router) { client in
                var auditor = FormBrowser()
                _ = try await auditor.signIn(client, token: cluster.tokens["auditor"] ?? "")
                let page = try await auditor.get(client, "/ledger")
                #expect(page.html.contains("href=\"/ledger/export.tar\""))
                let size = cluster.size
                let download = try await auditor.get(client, "/ledger/export.tar")
                #expect(download.status == .ok && download.headers[.contentType] == "application/x-tar")
                #expect(download.headers[.contentDisposition]?.contains("tiaki-export-\(size).tar") == true)
                let bytes = Array(download.body.readableBytesView)
                #expect(download.headers[.contentLength] == String(bytes.count) && bytes.count % 512 == 0)

                let work = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-tar-\(UUID())")
                try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: work) }
                let archive = work.appendingPathComponent("bundle.tar")
                try Data(bytes).write(to: archive)
                let tar = Process()
                tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                tar.arguments = ["tar", "-xf", archive.path, "-C", work.path]
                try tar.run()
                tar.waitUntilExit()
                #expect(tar.terminationStatus == 0)
                let folder = work.appendingPathComponent("tiaki-export-\(size)").path
                let report = try LedgerVerifier(trustedKey: cluster.services.ledger.verifier).verify(path: folder)
                #expect(report.isValid && report.entries == size && report.source == .bundle, "\(report)")
                let lines = try String(contentsOfFile: folder + "/entries.jsonl", encoding: .utf8)
                    .split(separator: "\n")
                #expect(UInt64(lines.count) == size)

                // The API gives the same archive to scripts; a school may not have it.
                let api = try await client.execute(
                    uri: "/v1/ledger/export",
                    method: .get,
                    headers: cluster.headers("auditor")
                )
                #expect(api.status == .ok && api.body.readableBytes == bytes.count)
                let school = try await client.execute(
                    uri: "/v1/ledger/export",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(school.status == .forbidden)
                var member = FormBrowser()
                _ = try await member.signIn(client, token: cluster.tokens["a"] ?? "")
                let refused = try await member.get(client, "/ledger/export.tar")
                #expect(refused.status == .forbidden)
            }
        }
    }

    @Test("the tar headers are ustar with a valid checksum, and sizes of 8 GiB and more use the base-256 form")
    func tarHeaders() {
        let small = Tar.header(name: "tiaki-export-3/log.vkey", size: 100, modified: 0)
        #expect(small.count == 512 && Array(small[257..<263]) == Array("ustar\0".utf8))
        #expect(String(decoding: small[124..<135], as: UTF8.self) == "00000000144")
        var copy = small
        for i in 148..<156 { copy[i] = 0x20 }
        let sum = copy.reduce(0) { $0 + Int($1) }
        #expect(String(decoding: small[148..<154], as: UTF8.self) == String(format: "%06o", sum))
        let huge = Tar.header(name: "x", size: 1 << 34, modified: 0)
        #expect(huge[124] == 0x80 && huge[135] == 0 && huge[131] == 4)
    }

    @Test("te reo Māori labels of the vocabulary: on the forms and the sheet in te reo, English where asked")
    func vocabularyLabels() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            #expect(cluster.services.core.vocabulary.label("phone", in: .channel, language: "mi") == "mā te waea")
            #expect(cluster.services.core.vocabulary.label("phone", in: .channel, language: "en") == "by phone")
            try await app.test(.router) { client in
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                school.cookies["tiaki_lang"] = "mi"
                let page = try await school.get(client, "/children/\(subject)/consents/new")
                #expect(page.html.contains(">mā te waea</label>") && !page.html.contains(">by phone</label>"))
                school.cookies["tiaki_lang"] = "en"
                let english = try await school.get(client, "/children/\(subject)/consents/new")
                #expect(english.html.contains(">by phone</label>"))
                let response = try await school.submit(
                    client,
                    english,
                    "/children/\(subject)/consents",
                    [("action", "sheet")] + consentFields
                )
                let sheet = try #require(response.headers[.location])
                let html = try await school.get(client, sheet + "&lang=both").html
                let mi = try #require(html.range(of: "<section lang=\"mi\""))
                let maori = html[mi.lowerBound...]
                let en = html[..<mi.lowerBound]
                #expect(en.contains("secure (encrypted) email") && en.contains("31 December 2027"))
                #expect(maori.contains("he īmēra haumaru (kua whakamunatia)") && maori.contains("31 Hakihea 2027"))
                #expect(maori.contains("ka puritia ki Aotearoa"))
                // The API's code system carries the te reo words as FHIR designations.
                let system = try await client.execute(uri: "/v1/vocabulary/channels", method: .get)
                #expect(
                    String(buffer: system.body).contains(
                        "\"designation\":[{\"language\":\"mi\",\"value\":\"mā te waea\"}]"
                    )
                )
            }
        }
    }
}
