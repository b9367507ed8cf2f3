import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel

@testable import TiakiServer
@testable import TiakiWeb

/// A browser without JavaScript: keeps cookies, sends forms.
struct FormBrowser {
    var cookies: [String: String] = [:]

    mutating func keep(_ response: TestResponse) {
        for header in response.headers[values: .setCookie] {
            let first = header.split(separator: ";").first ?? ""
            let kv = first.split(separator: "=", maxSplits: 1)
            guard kv.count >= 1 else { continue }
            let name = String(kv[0])
            let value = kv.count == 2 ? String(kv[1]) : ""
            if header.contains("Max-Age=0") || value.isEmpty { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    var headers: HTTPFields {
        var h: HTTPFields = [:]
        if !cookies.isEmpty { h[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        return h
    }

    mutating func get(_ client: some TestClientProtocol, _ uri: String) async throws -> TestResponse {
        let response = try await client.execute(uri: uri, method: .get, headers: headers)
        keep(response)
        return response
    }

    mutating func post(
        _ client: some TestClientProtocol,
        _ uri: String,
        _ fields: [(String, String)]
    ) async throws
        -> TestResponse
    {
        var h = headers
        h[.contentType] = "application/x-www-form-urlencoded"
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let response = try await client.execute(uri: uri, method: .post, headers: h, body: ByteBuffer(string: body))
        keep(response)
        return response
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    /// The form token of a page.
    static func csrf(_ response: TestResponse) -> String {
        let html = String(buffer: response.body)
        guard let r = html.range(of: #"name="csrf" value=""#) else { return "" }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    mutating func signIn(_ client: some TestClientProtocol, token: String) async throws -> TestResponse {
        let page = try await get(client, "/sign-in")
        return try await post(client, "/sign-in", [("csrf", Self.csrf(page)), ("token", token)])
    }
}

extension TestResponse {
    var html: String { String(buffer: body) }
}

/// The consent form as a school fills it in, all seven items.
let consentFields: [(String, String)] = [
    ("purposes", "referral"), ("purposes", "learning-support-planning"), ("information", "register-entry"),
    ("audience.kinds", "rtlb"), ("sharing.channels", "secure-email"), ("sharing.storageRegions", "nz"),
    ("sharing.protection", "Encrypted email only."), ("retention.until", "2027-12-31"),
    ("accuracy.method", "Ask to see it."), ("accuracy.contact", "the SENCO"),
    ("withdrawal.effect", "Support continues."), ("withdrawal.how", "Tell the school."),
    ("consenterRole", "parent"), ("consenterName", "Mere Parata"), ("informedDate", "2026-11-20"),
    ("informedLanguage", "en"), ("informedMethod", "meeting"), ("text", "We would like to share the register entry."),
]

@Suite struct WebTests {
    @Test(
        "sign-in: a session cookie (HttpOnly, SameSite=Strict, new id), a wrong token refused and limited, CSRF checked"
    )
    func signIn() async throws {
        let limited: (inout ServerConfiguration) -> Void = { $0.failedAuthenticationLimit = 3 }
        try await Cluster.run(configure: limited) { cluster, app in
            try await app.test(.router) { client in
                var browser = FormBrowser()
                var response = try await browser.get(client, "/")
                #expect(response.status == .seeOther && response.headers[.location] == "/sign-in")
                response = try await browser.get(client, "/sign-in")
                #expect(response.html.contains("<html lang=\"en\">"))
                #expect(response.headers[.contentSecurityPolicy]?.contains("form-action 'self'") == true)
                // A form without the sign-in cookie's token is refused, and nothing is signed in.
                var stranger = FormBrowser()
                response = try await stranger.post(
                    client,
                    "/sign-in",
                    [("csrf", "x"), ("token", cluster.tokens["a"] ?? "")]
                )
                #expect(response.status == .forbidden)
                // A wrong token: the page says so, never echoes it; after the limit, the source waits.
                for _ in 0..<3 {
                    response = try await browser.signIn(client, token: "tiaki_wrong")
                    #expect(response.status == .unauthorized)
                    #expect(response.html.contains("was not accepted") && !response.html.contains("tiaki_wrong"))
                }
                response = try await browser.signIn(client, token: cluster.tokens["a"] ?? "")
                #expect(response.status == .tooManyRequests)
            }
        }
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                var browser = FormBrowser()
                let response = try await browser.signIn(client, token: cluster.tokens["a"] ?? "")
                #expect(response.status == .seeOther)
                let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("tiaki_session=") })
                #expect(
                    cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Max-Age=")
                )
                #expect(!cookie.contains(cluster.tokens["a"] ?? "-"))
                let first = browser.cookies["tiaki_session"]
                // A session id planted before sign-in is never kept: signing in gives a new one.
                var planted = FormBrowser()
                planted.cookies["tiaki_session"] = "planted-by-someone-else"
                _ = try await planted.signIn(client, token: cluster.tokens["a"] ?? "")
                #expect(planted.cookies["tiaki_session"] != "planted-by-someone-else")
                #expect(planted.cookies["tiaki_session"] != first && planted.cookies["tiaki_session"] != nil)
                // A tampered cookie is no session.
                var tampered = browser
                tampered.cookies["tiaki_session"] = (first ?? "") + "0"
                let home = try await tampered.get(client, "/")
                #expect(home.status == .seeOther && home.headers[.location]?.hasPrefix("/sign-in") == true)
            }
        }
    }

    @Test(
        "a school's day: register, a consent with an item missing then whole, the sheet, the receipt, share, withdraw"
    )
    func schoolDay() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                var page = try await school.get(client, "/children/new")
                var response = try await school.post(
                    client,
                    "/children",
                    [
                        ("csrf", FormBrowser.csrf(page)), ("birthMonth", "2015-06"), ("nsn", "123456789"),
                        ("name", "Aroha"),
                    ]
                )
                #expect(response.status == .seeOther)
                let childPath = try #require(response.headers[.location])
                let subject = String(childPath.dropFirst("/children/".count))
                page = try await school.get(client, "/children?nsn=123456789")
                #expect(page.html.contains(childPath))
                // Bad input: a clear message beside the field, nothing recorded.
                let size = cluster.size
                response = try await school.post(
                    client,
                    "/children",
                    [("csrf", FormBrowser.csrf(page)), ("birthMonth", "June 2015")]
                )
                #expect(response.status == .badRequest && response.html.contains("error-summary"))
                #expect(cluster.size == size)

                page = try await school.get(client, "\(childPath)/consents/new")
                let csrf = FormBrowser.csrf(page)
                #expect(page.html.contains("<legend>1. Why will the information be shared?</legend>"))
                #expect(page.html.contains("<legend>7. What happens if the whānau decline or withdraw?</legend>"))
                // The first try misses the purposes: the summary names the item as the API does and links to it.
                var fields = consentFields.filter { $0.0 != "purposes" }
                response = try await school.post(
                    client,
                    "\(childPath)/consents",
                    [("csrf", csrf), ("action", "record")] + fields
                )
                #expect(response.status == .badRequest)
                #expect(response.html.contains("<a href=\"#f-purposes\">purposes: choose at least one"))
                #expect(response.html.contains("id=\"f-purposes\" class=\"item has-error\""))
                #expect(cluster.size == size)
                fields = consentFields
                // The information sheet, in both languages, before recording.
                response = try await school.post(
                    client,
                    "\(childPath)/consents",
                    [("csrf", csrf), ("action", "sheet-both")] + fields
                )
                #expect(response.html.contains("<section lang=\"mi\" class=\"sheet-part\">"))
                #expect(response.html.contains("He aha te take e tukuna ai ngā pārongo?"))
                #expect(cluster.size == size)
                response = try await school.post(
                    client,
                    "\(childPath)/consents",
                    [("csrf", csrf), ("action", "record")] + fields
                )
                #expect(response.status == .seeOther)
                let receiptPath = try #require(response.headers[.location])
                page = try await school.get(client, receiptPath)
                #expect(page.html.contains("tiaki receipt verify"))
                let json = try await school.get(client, receiptPath + ".json")
                #expect(json.headers[.contentType] == "application/json")
                #expect(try JSONParser().parse(Array(json.body.readableBytesView))["inclusionProof"] != nil)

                // May we share? Yes; record it; withdraw; ask again: no, withdrawn.
                let ask: [(String, String)] = [
                    ("csrf", csrf), ("purpose", "referral"), ("recipient", "rtlb"), ("channel", "secure-email"),
                    ("storageRegion", "nz"), ("information", "register-entry"),
                ]
                response = try await school.post(client, "\(childPath)/share", ask)
                #expect(response.html.contains("Yes, you may share"))
                let decision = try #require(
                    response.html.components(separatedBy: "name=\"decision\" value=\"").dropFirst().first?.prefix {
                        $0 != "\""
                    }
                )
                response = try await school.post(
                    client,
                    "\(childPath)/disclosures",
                    [("csrf", csrf), ("decision", String(decision))]
                )
                #expect(response.status == .seeOther)
                page = try await school.get(client, childPath)
                #expect(page.html.contains("<td>rtlb</td>"))
                let consent = String(receiptPath.split(separator: "/")[1])
                response = try await school.post(
                    client,
                    "/consents/\(consent)/withdraw",
                    [("csrf", csrf), ("by", "parent")]
                )
                #expect(response.status == .seeOther)
                response = try await school.post(client, "\(childPath)/share", ask)
                #expect(response.html.contains("No, do not share") && response.html.contains("withdrawn"))
                #expect(!response.html.contains("does not apply"))

                // A stale form token records nothing.
                let before = cluster.size
                response = try await school.post(client, "\(childPath)/share", [("csrf", "stale")] + ask.dropFirst())
                #expect(response.status == .forbidden && cluster.size == before)

                // Another school: the child is not found.
                var other = FormBrowser()
                _ = try await other.signIn(client, token: cluster.tokens["b"] ?? "")
                page = try await other.get(client, childPath)
                #expect(page.status == .notFound)
                page = try await other.get(client, "/consents/\(consent)/receipt")
                #expect(page.status == .notFound)

                // The privacy officer: the findings and the child's report.
                var officer = FormBrowser()
                _ = try await officer.signIn(client, token: cluster.tokens["privacy"] ?? "")
                page = try await officer.get(client, "/findings")
                #expect(page.status == .ok && page.html.contains("What needs acting on"))
                page = try await officer.get(client, "/children/\(subject)/report")
                #expect(page.html.contains("Your rights") && page.html.contains("Aroha"))
                // A school may not see the findings.
                page = try await school.get(client, "/findings")
                #expect(page.status == .forbidden)

                // Sign out: back is refused.
                response = try await school.post(client, "/sign-out", [("csrf", csrf)])
                #expect(response.status == .ok && response.html.contains("You are signed out."))
                page = try await school.get(client, childPath)
                #expect(page.status == .seeOther)
            }
        }
    }

    @Test("every page is small, escaped, self-contained, and in te reo Māori when asked")
    func pages() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            _ = try await cluster.consent(subject)
            try await app.test(.router) { client in
                for (who, paths) in [
                    (
                        "a",
                        [
                            "/", "/children", "/children/new", "/children/\(subject)",
                            "/children/\(subject)/consents/new",
                            "/children/\(subject)/share", "/children/\(subject)/refusals/new",
                        ]
                    ),
                    (
                        "privacy",
                        [
                            "/", "/findings", "/children/\(subject)/report", "/children/\(subject)",
                            "/children/\(subject)/erase",
                        ]
                    ),
                    ("facilitator", ["/", "/coverage"]), ("auditor", ["/", "/ledger"]), ("admin", ["/", "/admin"]),
                ] {
                    var browser = FormBrowser()
                    _ = try await browser.signIn(client, token: cluster.tokens[who] ?? "")
                    for language in ["en", "mi"] {
                        browser.cookies["tiaki_lang"] = language
                        for path in paths {
                            let page = try await browser.get(client, path)
                            #expect(page.status == .ok, "\(who) \(path)")
                            let html = page.html
                            #expect(html.utf8.count <= 50_000, "\(path) is \(html.utf8.count) bytes")
                            #expect(html.contains("<html lang=\"\(language)\">"), "\(path)")
                            #expect(!html.contains("<script") && !html.contains("style=\""), "\(path)")
                            #expect(!html.contains("http://") && !html.contains("https://"), "\(path)")
                        }
                    }
                }
                // Choosing a language goes back to a page of this site only.
                for back in ["//evil.example/x", "https://evil.example/", "/ok%0D%0ASet-Cookie:x=1"] {
                    let response = try await client.execute(
                        uri: "/language?to=mi&back=\(FormBrowser.encode(back))",
                        method: .get
                    )
                    #expect(response.status == .seeOther && response.headers[.location] == "/", "\(back)")
                }
                let css = try await client.execute(uri: "/assets/tiaki.css", method: .get)
                #expect(css.headers[.contentType] == "text/css; charset=utf-8")
                // A value with markup is escaped.
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                let page = try await school.get(client, "/children?ref=%3Cscript%3Ealert(1)%3C/script%3E")
                #expect(!page.html.contains("<script>alert(1)</script>") && page.html.contains("&lt;script&gt;"))
            }
        }
    }

    @Test("a session ends after its idle time, and after its absolute time however busy")
    func expiry() {
        let clock = Mutex(Date(timeIntervalSince1970: 0))
        let store = SessionStore(idle: 10, absolute: 100, now: { clock.withLock { $0 } })
        func advance(_ seconds: TimeInterval) { clock.withLock { $0 = $0.addingTimeInterval(seconds) } }
        let caller = Caller(credential: "c", org: "school-a", role: .member)
        let idle = store.create(for: caller)
        advance(5)
        #expect(store.find(idle.id) != nil)
        advance(11)
        #expect(store.find(idle.id) == nil)
        let busy = store.create(for: caller)
        for _ in 0..<19 {
            advance(5)
            #expect(store.find(busy.id) != nil)
        }
        advance(6)
        #expect(store.find(busy.id) == nil, "absolute expiry")
        let ended = store.create(for: caller)
        store.end(ended.id)
        #expect(store.find(ended.id) == nil)
    }

    @Test(
        "the duties on pages: a recipient's notices, the notice itself, recorded sent; the breach register, step by step"
    )
    func duties() async throws {
        try await DutiesTests.run { cluster, app in
            let subject = try await cluster.child()
            let disclosure = try await cluster.disclose(subject, date: "2026-03-02")
            try await app.test(.router) { client in
                var rtlb = FormBrowser()
                _ = try await rtlb.signIn(client, token: cluster.tokens["rtlb"] ?? "")
                var page = try await rtlb.get(client, "/notices")
                #expect(page.html.contains("(IPP 3A), by 16 March 2026"))
                let csrf = FormBrowser.csrf(page)
                let document = try await rtlb.get(client, "/notices/collections/\(disclosure)?lang=both")
                #expect(document.html.contains("We hold information about your child"))
                #expect(document.html.contains("Kei a mātou he pārongo mō tō tamaiti"))
                var response = try await rtlb.post(
                    client,
                    "/notices/collections/\(disclosure)/sent",
                    [("csrf", csrf), ("method", "pigeon")]
                )
                #expect(response.status == .badRequest && response.html.contains("method must be one of"))
                response = try await rtlb.post(
                    client,
                    "/notices/collections/\(disclosure)/sent",
                    [("csrf", csrf), ("method", "post")]
                )
                #expect(response.status == .seeOther)
                page = try await rtlb.get(client, "/notices")
                #expect(page.html.contains("Notices you owe whānau (IPP 3A) (0)"))
                // Another school cannot read or record it.
                var other = FormBrowser()
                _ = try await other.signIn(client, token: cluster.tokens["b"] ?? "")
                #expect(try await other.get(client, "/notices/collections/\(disclosure)").status == .notFound)

                var officer = FormBrowser()
                _ = try await officer.signIn(client, token: cluster.tokens["privacy"] ?? "")
                page = try await officer.get(client, "/breaches")
                let token = FormBrowser.csrf(page)
                let size = cluster.size
                response = try await officer.post(
                    client,
                    "/breaches",
                    [("csrf", token), ("found", "2026-03-05T09:00:00+13:00"), ("description", "Lost.")]
                )
                #expect(response.status == .badRequest && response.html.contains("href=\"#f-recipient\""))
                #expect(cluster.size == size)
                response = try await officer.post(
                    client,
                    "/breaches",
                    [
                        ("csrf", token), ("found", "2026-03-05T09:00:00+13:00"),
                        ("description", "A referral went to the wrong address."), ("recipient", "rtlb"),
                        ("from", "2026-03-01"), ("to", "2026-03-03"),
                    ]
                )
                #expect(response.status == .seeOther)
                let path = try #require(response.headers[.location])
                response = try await officer.post(client, path + "/assessment", [("csrf", token), ("reasons", "x")])
                #expect(response.status == .badRequest && response.html.contains("seriousHarm"))
                response = try await officer.post(
                    client,
                    path + "/assessment",
                    [
                        ("csrf", token), ("seriousHarm", "yes"), ("factors", "who-obtained"),
                        ("reasons", "A stranger holds it."),
                    ]
                )
                #expect(response.status == .seeOther)
                response = try await officer.post(
                    client,
                    path + "/commissioner",
                    [("csrf", token), ("reference", "NU-1")]
                )
                #expect(response.status == .seeOther)
                response = try await officer.post(client, path + "/notice-\(subject)", [("csrf", token)])
                #expect(response.status == .seeOther)
                page = try await officer.get(client, "/breaches")
                #expect(page.html.contains("notified"))
                page = try await officer.get(client, path + "/report")
                #expect(page.html.contains("Privacy breach report") && page.html.contains("reference NU-1"))
                #expect(try await rtlb.get(client, "/breaches").status == .forbidden)
            }
        }
    }

    @Test("both languages have every word; the te reo words are marked as not yet reviewed")
    func words() throws {
        #expect(Set(PageWords.en.keys) == Set(PageWords.mi.keys))
        #expect(PageWords.mi["unreviewed"]?.isEmpty == false)
    }
}
