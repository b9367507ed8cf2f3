import Foundation
import Testing
import TiakiModel

@testable import TiakiAudit

/// The documents people are given (the IPP 6 report, the notices, the breach report) are drawn from templates in
/// TiakiAudit's resources: they load, every value is escaped, and each document has the structure it is read by.
@Suite("Documents drawn from templates")
struct DocumentTemplateTests {
    static let hostile = "<script>alert(1)</script> & \"Aroha\" 'O'"
    static let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Aroha&quot; &#39;O&#39;"

    @Test("every document template loads and parses, and its partials exist")
    func load() throws {
        try DocumentTemplates.check()
    }

    @Test("the report: a page with its styles inline or linked, its body alone, every value escaped")
    func report() throws {
        let asOf = try #require(Day("2026-12-08"))
        var report = SubjectReport(
            subject: "s-1",
            entries: [],
            organisations: [:],
            labels: [:],
            asOf: asOf,
            unseal: { _ in nil }
        )
        report.name = Self.hostile
        report.summary = ["First <line>"]
        report.organisationIds = ["school-a": "Kōwhai <School>"]
        let page = report.html
        #expect(page.hasPrefix("<!doctype html>") && page.hasSuffix("</body></html>\n"))
        #expect(page.contains("<style>") && !page.contains("<link rel=\"stylesheet\""))
        #expect(!page.contains("<script>") && page.contains(Self.escaped))
        #expect(page.contains("<li>First &lt;line&gt;</li>"))
        #expect(page.contains("Organisations: Kōwhai &lt;School&gt; = school-a."))
        #expect(page.contains("<p>None recorded.</p>") && page.contains("<li>Nothing else recorded.</li>"))
        #expect(page.contains("as of 8 December 2026"))
        let linked = report.html(stylesheetURL: "/v1/assets/report.css")
        #expect(
            linked.contains("<link rel=\"stylesheet\" href=\"/v1/assets/report.css\">") && !linked.contains("<style>")
        )
        let body = report.htmlBody
        #expect(body.hasPrefix("<h1>") && !body.contains("<html") && body.contains(Self.escaped))
    }

    @Test("a notice in both languages: one section each, in its language, headings only where there are some")
    func notice() throws {
        let collector = NoticeOrganisation(id: "rtlb", name: "RTLB <North>", contact: nil, law: nil)
        let source = NoticeOrganisation(
            id: "school-a",
            name: "Kōwhai School",
            contact: "office@kowhai.example",
            law: nil
        )
        let facts = CollectionNoticeFacts(
            disclosure: 12,
            subject: "s-1",
            childName: Self.hostile,
            shared: "2026-12-01",
            purpose: Labelled(code: "referral", label: "Referral"),
            information: [Labelled(code: "assessment", label: "Assessments")],
            collector: collector,
            source: source,
            dueBy: "2026-12-15"
        )
        let html = NoticeDocument.collection(facts, languages: [.en, .mi]).html
        #expect(html.hasPrefix("<!doctype html>\n<html lang=\"en\">"))
        #expect(html.components(separatedBy: "<section lang=\"en\">").count == 2)
        #expect(html.components(separatedBy: "<section lang=\"mi\">").count == 2)
        #expect(!html.contains("<script>") && html.contains(Self.escaped) && html.contains("RTLB &lt;North&gt;"))
        #expect(html.contains("<h2>") && !html.contains("<h2></h2>"))
    }
}
