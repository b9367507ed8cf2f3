import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel

@testable import TiakiServer
@testable import TiakiWeb

/// A browser without JavaScript: keeps cookies, sends forms, and sends a form's own tokens back as a browser does.
struct FormBrowser {
    var cookies: [String: String] = [:]
    var extra: HTTPFields = [:]

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
        var h = extra
        if !cookies.isEmpty { h[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        return h
    }

    mutating func get(_ client: some TestClientProtocol, _ uri: String) async throws -> TestResponse {
        let response = try await client.execute(uri: uri, method: .get, headers: headers)
        keep(response)
        return response
    }

    /// Follows a redirect (one step), as a browser does after a POST.
    mutating func follow(_ client: some TestClientProtocol, _ response: TestResponse) async throws -> TestResponse {
        guard response.status == .seeOther, let location = response.headers[.location] else { return response }
        return try await get(client, location)
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

    /// Sends the form of `page` whose action is `action`, with the page's own form tokens and `fields`.
    mutating func submit(
        _ client: some TestClientProtocol,
        _ page: TestResponse,
        _ action: String,
        _ fields: [(String, String)]
    ) async throws -> TestResponse {
        try await post(client, action, [("csrf", Self.csrf(page)), ("once", Self.value(page, "once"))] + fields)
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    /// The value of the first hidden field `name` on a page.
    static func value(_ response: TestResponse, _ name: String) -> String {
        let html = String(buffer: response.body)
        guard let r = html.range(of: "name=\"\(name)\" value=\"") else { return "" }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    /// The form token of a page.
    static func csrf(_ response: TestResponse) -> String { value(response, "csrf") }

    mutating func signIn(
        _ client: some TestClientProtocol,
        token: String,
        next: String? = nil
    ) async throws
        -> TestResponse
    {
        let page = try await get(client, "/sign-in" + (next.map { "?next=" + Self.encode($0) } ?? ""))
        var fields = [("csrf", Self.csrf(page)), ("token", token)]
        if let next = Self.value(page, "next").nilIfEmpty { fields.append(("next", next)) }
        return try await post(client, "/sign-in", fields)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension TestResponse {
    var html: String { String(buffer: body) }
}

/// The consent form as a school fills it in, all seven items and who agreed, as people type them.
let consentFields: [(String, String)] = [
    ("purposes[]", "referral"), ("purposes[]", "learning-support-planning"), ("information[]", "register-entry"),
    ("audience[]", "rtlb"), ("channels[]", "secure-email"), ("regions[]", "nz"),
    ("protection", "Encrypted email only."), ("until", "31/12/2027"), ("accuracyMethod", "Ask to see it."),
    ("accuracyContact", "the SENCO"), ("withdrawalEffect", "Support continues."), ("withdrawalHow", "Tell the school."),
    ("consenterRole", "parent"), ("consenterName", "Mere Parata"), ("informedDate", "20/11/2026"),
    ("informedLanguage", "en"), ("informedMethod", "meeting"), ("text", "We would like to share the register entry."),
]

/// The question "may we share?" as the form sends it.
let askFields: [(String, String)] = [
    ("purpose", "referral"), ("recipient", "rtlb"), ("channel", "secure-email"), ("storageRegion", "nz"),
    ("information[]", "register-entry"),
]

@Suite struct WebTests {
    @Test(
        "sign-in: a session cookie (HttpOnly, SameSite=Strict, new id); wrong tokens wait, a valid one never does; CSRF checked"
    )
    func signIn() async throws {
        // A first wait long enough that a slow machine cannot outlast it between two attempts.
        let limited: (inout ServerConfiguration) -> Void = {
            $0.failedAuthenticationLimit = 3
            $0.failedAuthenticationFirstWait = .seconds(30)
        }
        try await Cluster.run(configure: limited) { cluster, app in
            try await app.test(.router) { client in
                var browser = FormBrowser()
                var response = try await browser.get(client, "/")
                #expect(response.status == .seeOther && response.headers[.location] == "/sign-in")
                response = try await browser.get(client, "/sign-in")
                #expect(response.html.contains("<html lang=\"en-NZ\">"))
                #expect(response.headers[.contentSecurityPolicy]?.contains("form-action 'self'") == true)
                // A form without the sign-in cookie's token is refused, and nothing is signed in.
                var stranger = FormBrowser()
                response = try await stranger.post(
                    client,
                    "/sign-in",
                    [("csrf", "x"), ("token", cluster.tokens["a"] ?? "")]
                )
                #expect(response.status == .forbidden)
                // A wrong token: the page says so, never echoes it; after the limit, failures wait.
                var statuses: [HTTPResponse.Status] = []
                for _ in 0..<5 {
                    response = try await browser.signIn(client, token: "tiaki_wrong")
                    statuses.append(response.status)
                    #expect(!response.html.contains("tiaki_wrong"))
                }
                #expect(statuses.prefix(3).allSatisfy { $0 == .unauthorized }, "\(statuses)")
                #expect(statuses.last == .tooManyRequests && response.headers[.retryAfter] != nil)
                #expect(response.html.contains("Wait a moment"))
                // The valid token from the same address is never kept waiting for what failed.
                response = try await browser.signIn(client, token: cluster.tokens["a"] ?? "")
                #expect(response.status == .seeOther && response.headers[.location] == "/")
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
                // Signed out, a page sends the reader to sign in, and signing in comes back to it.
                var later = FormBrowser()
                let away = try await later.get(client, "/children/new?x=1")
                #expect(away.headers[.location] == "/sign-in?next=%2Fchildren%2Fnew%3Fx%3D1")
                let back = try await later.signIn(client, token: cluster.tokens["a"] ?? "", next: "/children/new?x=1")
                #expect(back.headers[.location] == "/children/new?x=1")
                // Never to another site.
                var fresh = FormBrowser()
                let elsewhere = try await fresh.signIn(
                    client,
                    token: cluster.tokens["a"] ?? "",
                    next: "//evil.example/"
                )
                #expect(elsewhere.headers[.location] == "/")
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
                // Typed as people type it: the month in words, the NSN with spaces.
                var response = try await school.submit(
                    client,
                    page,
                    "/children",
                    [("birthMonth", "June 2015"), ("nsn", "123 456 789"), ("name", "Aroha Parata")]
                )
                #expect(response.status == .seeOther)
                let childPath = try #require(response.headers[.location]?.split(separator: "?").first.map(String.init))
                let subject = String(childPath.dropFirst("/children/".count))
                page = try await school.follow(client, response)
                #expect(page.html.contains("The child is registered.") && page.html.contains("<h1>Aroha Parata</h1>"))
                #expect(page.html.contains("Born June 2015"))
                page = try await school.get(client, "/children?nsn=123-456-789")
                #expect(page.html.contains(childPath))
                // Bad input: a message in people's words beside the field, nothing recorded, the rest kept.
                let size = cluster.size
                page = try await school.get(client, "/children/new")
                response = try await school.submit(
                    client,
                    page,
                    "/children",
                    [("birthMonth", "2015-13"), ("name", "Hēmi")]
                )
                #expect(response.status == .badRequest && response.html.contains("error-summary"))
                #expect(response.html.contains("Enter the month and year the child was born"))
                #expect(response.html.contains("<title>Error: Register a child"))
                #expect(!response.html.contains("birthMonth:") && response.html.contains("value=\"Hēmi\""))
                #expect(cluster.size == size)

                page = try await school.get(client, "\(childPath)/consents/new")
                #expect(page.html.contains("<legend>1. Why will the information be shared?</legend>"))
                #expect(page.html.contains("<legend>7. What happens if the whānau decline or withdraw?</legend>"))
                // The first try misses the purposes and who agreed: each said beside its field and in the summary.
                response = try await school.submit(
                    client,
                    page,
                    "\(childPath)/consents",
                    [("action", "record")] + consentFields.filter { $0.0 != "purposes[]" && $0.0 != "consenterName" }
                )
                #expect(response.status == .badRequest)
                #expect(
                    response.html.contains("<a href=\"#f-purposes\">Choose why the information will be shared.</a>")
                )
                #expect(
                    response.html.contains("<a href=\"#f-consenterName\">Enter the name of the person who agreed.</a>")
                )
                #expect(!response.html.contains("purposes:"))
                #expect(cluster.size == size)
                // The information sheet, shown from a page of its own, in both languages, before recording.
                response = try await school.submit(
                    client,
                    page,
                    "\(childPath)/consents",
                    [("action", "sheet")] + consentFields
                )
                #expect(response.status == .seeOther)
                let sheetPath = try #require(response.headers[.location])
                page = try await school.get(client, sheetPath + "&lang=both")
                #expect(page.html.contains("<section lang=\"mi\" class=\"sheet-part\">"))
                #expect(page.html.contains("He aha te take e tukuna ai ngā pārongo?"))
                #expect(page.html.contains("Aroha Parata"))
                #expect(cluster.size == size)
                let sheet = page
                response = try await school.submit(client, sheet, "\(childPath)/consents", [("action", "record-sheet")])
                #expect(response.status == .seeOther)
                let receiptPath = try #require(
                    response.headers[.location]?.split(separator: "?").first.map(String.init)
                )
                #expect(cluster.size == size + 1)
                // Back to the sheet and record again, as after the browser's Back: recorded once; it says so.
                response = try await school.submit(client, sheet, "\(childPath)/consents", [("action", "record-sheet")])
                #expect(response.headers[.location] == receiptPath + "?recorded=consent&already=1")
                #expect(cluster.size == size + 1)
                page = try await school.get(client, sheetPath)
                #expect(page.html.contains("This was already recorded") && !page.html.contains("record-sheet"))
                page = try await school.get(client, receiptPath)
                #expect(page.html.contains("Aroha Parata") && page.html.contains("Mere Parata (a parent)"))
                #expect(page.html.contains("Encrypted email only"))
                let json = try await school.get(client, receiptPath + ".json")
                #expect(json.headers[.contentType] == "application/json")
                let receipt = try JSONParser().parse(Array(json.body.readableBytesView))
                #expect(receipt["inclusionProof"] != nil)
                // The receipt's words are what the school recorded; the entry holds them sealed.
                #expect(receipt["entry"]?.stringValue?.contains("Encrypted email") == false)

                // May we share? Yes, shown at an address of its own; record it; withdraw; ask again: no, withdrawn.
                page = try await school.get(client, "\(childPath)/share")
                #expect(!page.html.contains("value=\"rtlb\" selected"))
                response = try await school.submit(client, page, "\(childPath)/share", askFields)
                #expect(response.status == .seeOther)
                page = try await school.follow(client, response)
                #expect(page.html.contains("Yes, you may share") && !page.html.contains("Why: Why"))
                let decision = FormBrowser.value(page, "decision")
                response = try await school.post(
                    client,
                    "\(childPath)/disclosures",
                    [("csrf", FormBrowser.csrf(page)), ("decision", decision)]
                )
                #expect(response.status == .seeOther)
                page = try await school.follow(client, response)
                #expect(page.html.contains("The share is recorded.") && page.html.contains(">rtlb</td>"))
                let consent = String(receiptPath.split(separator: "/")[1])
                #expect(page.html.contains("Consent \(consent) · given on 20 November 2026"))
                page = try await school.get(client, "/consents/\(consent)/withdraw")
                #expect(page.html.contains("What stops") && page.html.contains("What does not stop"))
                // Not confirmed: nothing recorded.
                response = try await school.submit(
                    client,
                    page,
                    "/consents/\(consent)/withdraw",
                    [("by", "parent"), ("date", "1/12/2026"), ("how", "a phone call to the office")]
                )
                #expect(response.status == .badRequest && response.html.contains("Tick the box to confirm."))
                #expect(cluster.size == size + 3)
                response = try await school.submit(
                    client,
                    page,
                    "/consents/\(consent)/withdraw",
                    [
                        ("by", "parent"), ("date", "1/12/2026"), ("how", "a phone call to the office"),
                        ("confirm", "yes"),
                    ]
                )
                page = try await school.follow(client, response)
                #expect(page.html.contains("The withdrawal is recorded."))
                #expect(page.html.contains("Withdrawn on 1 December 2026 (a parent)"))
                page = try await school.get(client, receiptPath)
                #expect(page.html.contains("This consent was withdrawn on 1 December 2026."))
                #expect(!page.html.contains("This is what the whānau agreed to. Keep this page."))
                page = try await school.get(client, "\(childPath)/share")
                response = try await school.follow(
                    client,
                    try await school.submit(client, page, "\(childPath)/share", askFields)
                )
                #expect(response.html.contains("No, do not share") && response.html.contains("withdrawn"))
                #expect(!response.html.contains("does not apply"))

                // A stale form token records nothing, and draws the form again with what was typed and a fresh token.
                let before = cluster.size
                response = try await school.post(
                    client,
                    "\(childPath)/share",
                    [("csrf", "stale"), ("once", String(repeating: "a", count: 64))] + askFields
                )
                #expect(response.status == .forbidden && cluster.size == before)
                #expect(response.html.contains("This form was out of date"))
                #expect(response.html.contains("value=\"rtlb\" selected"))
                #expect(FormBrowser.csrf(response) == FormBrowser.csrf(page))

                // Another school: the child is not found.
                var other = FormBrowser()
                _ = try await other.signIn(client, token: cluster.tokens["b"] ?? "")
                page = try await other.get(client, childPath)
                #expect(page.status == .notFound)
                page = try await other.get(client, "/consents/\(consent)/receipt")
                #expect(page.status == .notFound)

                // The privacy officer finds the child by NSN, sees the name, the report and the findings.
                var officer = FormBrowser()
                _ = try await officer.signIn(client, token: cluster.tokens["privacy"] ?? "")
                response = try await officer.get(client, "/children?nsn=123456789&open=1")
                #expect(response.headers[.location] == childPath)
                page = try await officer.get(client, childPath)
                #expect(page.html.contains("<h1>Aroha Parata</h1>") && !page.html.contains("/consents/new"))
                #expect(page.html.contains("\(childPath)/report") && page.html.contains("\(childPath)/erase"))
                page = try await officer.get(client, "/findings")
                #expect(page.status == .ok && page.html.contains("What needs acting on"))
                page = try await officer.get(client, "/children/\(subject)/report")
                #expect(page.html.contains("Your rights") && page.html.contains("Aroha"))
                // A school may not see the findings; its child page offers no privacy officer's buttons.
                page = try await school.get(client, "/findings")
                #expect(page.status == .forbidden)
                page = try await school.get(client, childPath)
                #expect(!page.html.contains("\(childPath)/erase") && !page.html.contains("\(childPath)/report"))

                // Sign out: back is refused.
                response = try await school.post(client, "/sign-out", [("csrf", FormBrowser.csrf(page))])
                #expect(response.status == .ok && response.html.contains("You are signed out."))
                page = try await school.get(client, childPath)
                #expect(page.status == .seeOther)
            }
        }
    }

    @Test("a revoked credential ends its page sessions at once: the next page asks to sign in, a form records nothing")
    func revocationEndsSessions() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            try await app.test(.router) { client in
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                let form = try await school.get(client, "/children/\(subject)/share")
                #expect(form.status == .ok)
                // A second admin credential: the first revokes the school's, then the second admin's.
                let spare = try await cluster.services.credentials.issue(
                    .init(org: "office", role: .admin, holder: "a second admin")
                )
                var admin = FormBrowser()
                _ = try await admin.signIn(client, token: spare.token)
                let adminPage = try await admin.get(client, "/admin")
                #expect(adminPage.status == .ok)
                let schoolCredential = try #require(
                    try cluster.services.credentials.list().first { $0.org == "school-a" }?.id
                )
                let revoke = try await client.execute(
                    uri: "/v1/credentials/\(schoolCredential)/revoke",
                    method: .post,
                    headers: cluster.headers("admin")
                )
                #expect(revoke.status == .ok)
                let before = cluster.size
                var page = try await school.get(client, "/children/\(subject)")
                #expect(page.status == .seeOther && page.headers[.location]?.hasPrefix("/sign-in?expired=1") == true)
                let post = try await school.submit(client, form, "/children/\(subject)/share", askFields)
                #expect(post.status == .seeOther && post.headers[.location]?.hasPrefix("/sign-in") == true)
                #expect(cluster.size == before)
                // The admin's own revoked session cannot mint a credential.
                let revoked = try await client.execute(
                    uri: "/v1/credentials/\(spare.id)/revoke",
                    method: .post,
                    headers: cluster.headers("admin")
                )
                #expect(revoked.status == .ok)
                let afterRevoke = cluster.size
                let minted = try await admin.submit(
                    client,
                    adminPage,
                    "/admin/credentials",
                    [("org", "office"), ("role", "admin"), ("holder", "me again")]
                )
                #expect(minted.status == .seeOther && minted.headers[.location]?.hasPrefix("/sign-in") == true)
                #expect(cluster.size == afterRevoke)
                page = try await admin.get(client, "/admin")
                #expect(page.status == .seeOther)
                // And no finding of a revoked credential's use arises from a session.
                let findings = try await client.execute(
                    uri: "/v1/findings",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(!findings.html.contains("credential-used-after-revocation"))
            }
        }
    }

    @Test("a double click, a resubmit and a cross-site post: one record, the second shown what the first recorded")
    func onceOnly() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                let page = try await school.get(client, "/children/new")
                let before = cluster.size
                // Two posts of one form at once, as a double click sends them.
                var formHeaders = school.headers
                formHeaders[.contentType] = "application/x-www-form-urlencoded"
                async let first = client.execute(
                    uri: "/children",
                    method: .post,
                    headers: formHeaders,
                    body: ByteBuffer(
                        string:
                            "csrf=\(FormBrowser.csrf(page))&once=\(FormBrowser.value(page, "once"))&birthMonth=2015-06"
                    )
                )
                async let second = client.execute(
                    uri: "/children",
                    method: .post,
                    headers: formHeaders,
                    body: ByteBuffer(
                        string:
                            "csrf=\(FormBrowser.csrf(page))&once=\(FormBrowser.value(page, "once"))&birthMonth=2015-06"
                    )
                )
                let (a, b) = try await (first, second)
                #expect(a.status == .seeOther && b.status == .seeOther)
                #expect(cluster.size == before + 1)
                let locations = [a, b].compactMap { $0.headers[.location] }
                #expect(locations.filter { $0.contains("already=1") }.count == 1)
                #expect(Set(locations.map { $0.replacingOccurrences(of: "&already=1", with: "") }).count == 1)
                // A post from another site is refused and records nothing, whatever its token.
                var forged = school
                forged.extra = [
                    try #require(HTTPField.Name("Origin")): "https://evil.example",
                    try #require(HTTPField.Name("Sec-Fetch-Site")): "cross-site",
                ]
                let fresh = try await school.get(client, "/children/new")
                let attack = try await forged.submit(client, fresh, "/children", [("birthMonth", "2015-06")])
                #expect(attack.status == .forbidden && attack.html.contains("another website"))
                #expect(cluster.size == before + 1)
            }
        }
    }

    @Test("switching language on a form drawn after a problem draws it again in te reo with what was typed")
    func languageKeepsTheForm() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            try await app.test(.router) { client in
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                let page = try await school.get(client, "/children/\(subject)/consents/new")
                let response = try await school.submit(
                    client,
                    page,
                    "/children/\(subject)/consents",
                    [("action", "sheet")] + consentFields.filter { $0.0 != "purposes[]" }
                )
                #expect(response.status == .badRequest)
                let link = try #require(
                    response.html.components(separatedBy: "href=\"/language?to=mi&amp;back=").dropFirst().first?
                        .prefix { $0 != "\"" }
                )
                let switched = try await school.get(client, "/language?to=mi&back=\(link)")
                let again = try await school.follow(client, switched)
                #expect(again.html.contains("<html lang=\"mi\">"))
                #expect(again.html.contains("value=\"Mere Parata\"") && again.html.contains("Encrypted email only."))
                #expect(again.html.contains("Kōwhiria te take e tukuna ai ngā pārongo."))
            }
        }
    }

    @Test("every page is small, escaped, self-contained, in en-NZ or te reo Māori, with no word missing")
    func pages() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            try await app.test(.router) { client in
                for (who, paths) in [
                    (
                        "a",
                        [
                            "/", "/children", "/children/new", "/children/\(subject)",
                            "/children/\(subject)/consents/new", "/consents/\(consent)/receipt",
                            "/consents/\(consent)/withdraw", "/children/\(subject)/share",
                            "/children/\(subject)/refusals/new", "/notices",
                        ]
                    ),
                    (
                        "privacy",
                        [
                            "/", "/children", "/findings", "/children/\(subject)/report", "/children/\(subject)",
                            "/children/\(subject)/erase", "/breaches", "/ledger",
                        ]
                    ),
                    ("facilitator", ["/", "/coverage", "/children/\(subject)"]), ("auditor", ["/", "/ledger"]),
                    ("admin", ["/", "/admin"]),
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
                            #expect(html.contains("<html lang=\"\(language == "en" ? "en-NZ" : "mi")\">"), "\(path)")
                            #expect(!html.contains("<script") && !html.contains("style=\""), "\(path)")
                            #expect(!html.contains("http://") && !html.contains("https://"), "\(path)")
                            // No sealed value drawn as it is stored.
                            #expect(!html.contains("aes-gcm:"), "\(who) \(path)")
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

    @Test("a session ends after its idle time, and after its absolute time however busy; a credential holds a few")
    func expiry() {
        let clock = Mutex(Date(timeIntervalSince1970: 0))
        let store = SessionStore(idle: 10, absolute: 100, perCredential: 3, now: { clock.withLock { $0 } })
        func advance(_ seconds: TimeInterval) { clock.withLock { $0 = $0.addingTimeInterval(seconds) } }
        let caller = "cred-c"
        let idle = store.create(credential: caller)
        advance(5)
        #expect(store.find(idle.id) != nil)
        advance(11)
        #expect(store.find(idle.id) == nil)
        let busy = store.create(credential: caller)
        for _ in 0..<19 {
            advance(5)
            #expect(store.find(busy.id) != nil)
        }
        advance(6)
        #expect(store.find(busy.id) == nil, "absolute expiry")
        let ended = store.create(credential: caller)
        store.end(ended.id)
        #expect(store.find(ended.id) == nil)
        // A fourth sign-in of one credential ends its oldest session; another credential's are untouched.
        let sessions = (0..<4).map { _ in store.create(credential: "cred-d") }
        let other = store.create(credential: "cred-e")
        #expect(store.find(sessions[0].id) == nil)
        #expect(sessions[1...].allSatisfy { store.find($0.id) != nil })
        #expect(store.count(credential: "cred-d") == 3 && store.find(other.id) != nil)
        store.endAll(credential: "cred-d")
        #expect(store.count(credential: "cred-d") == 0 && store.find(other.id) != nil)
    }

    @Test("signing in costs the same however many sessions others hold: expired ones are swept a few at a time")
    func sessionsStayBounded() {
        let clock = Mutex(Date(timeIntervalSince1970: 0))
        let store = SessionStore(idle: 10, absolute: 100, perCredential: 10, now: { clock.withLock { $0 } })
        for i in 0..<50_000 { _ = store.create(credential: "cred-\(i % 5000)") }
        #expect((0..<5000).map { store.count(credential: "cred-\($0)") }.allSatisfy { $0 == 10 })
        clock.withLock { $0 = $0.addingTimeInterval(20) }
        // Every session has expired; sign-ins sweep them away as they go.
        for i in 0..<20_000 { _ = store.create(credential: "new-\(i)") }
        #expect(store.count(credential: "cred-0") == 0)
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
                #expect(document.html.contains("Back to the notices"))
                var response = try await rtlb.post(
                    client,
                    "/notices/collections/\(disclosure)/sent",
                    [("csrf", csrf), ("method", "pigeon")]
                )
                #expect(response.status == .badRequest)
                response = try await rtlb.post(
                    client,
                    "/notices/collections/\(disclosure)/sent",
                    [("csrf", csrf), ("method", "post")]
                )
                #expect(response.status == .seeOther)
                page = try await rtlb.follow(client, response)
                #expect(page.html.contains("Notices you owe whānau (IPP 3A) (0)"))
                #expect(page.html.contains("The notice is recorded as sent."))
                // Another school cannot read or record it.
                var other = FormBrowser()
                _ = try await other.signIn(client, token: cluster.tokens["b"] ?? "")
                #expect(try await other.get(client, "/notices/collections/\(disclosure)").status == .notFound)

                var officer = FormBrowser()
                _ = try await officer.signIn(client, token: cluster.tokens["privacy"] ?? "")
                page = try await officer.get(client, "/breaches")
                let size = cluster.size
                // Bad input: said beside the fields, the chosen recipient kept, nothing recorded.
                response = try await officer.submit(
                    client,
                    page,
                    "/breaches",
                    [("found", "next Tuesday"), ("description", ""), ("recipient", "rtlb")]
                )
                #expect(response.status == .badRequest && response.html.contains("href=\"#f-found\""))
                #expect(response.html.contains("Enter when it was found, for example 1/12/2026 9:30 am"))
                #expect(response.html.contains("value=\"rtlb\" selected"))
                #expect(cluster.size == size)
                // A time as people type it, in New Zealand time.
                response = try await officer.submit(
                    client,
                    page,
                    "/breaches",
                    [
                        ("found", "5/3/2026 9:00 am"), ("description", "A referral went to the wrong address."),
                        ("recipient", "rtlb"), ("from", "1/3/2026"), ("to", "3 March 2026"),
                    ]
                )
                #expect(response.status == .seeOther)
                let path = try #require(response.headers[.location]?.split(separator: "?").first.map(String.init))
                page = try await officer.get(client, path)
                #expect(page.html.contains("5 March 2026, 9:00 am NZDT") && page.html.contains("To assess"))
                let token = FormBrowser.csrf(page)
                response = try await officer.post(client, path + "/assessment", [("csrf", token), ("reasons", "x")])
                #expect(
                    response.status == .badRequest
                        && response.html.contains("Say whether it is likely to cause serious harm.")
                )
                response = try await officer.post(
                    client,
                    path + "/assessment",
                    [
                        ("csrf", token), ("seriousHarm", "yes"), ("factors[]", "who-obtained"),
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
                #expect(page.html.contains("Notified") && !page.html.contains("notification-due"))
                page = try await officer.get(client, path + "/report")
                #expect(page.html.contains("Privacy breach report") && page.html.contains("reference NU-1"))
                #expect(page.html.contains("Back to the breach") && page.html.contains("/assets/tiaki.css"))
                #expect(try await rtlb.get(client, "/breaches").status == .forbidden)
            }
        }
    }

    @Test("both languages have every word; every template's word exists; te reo is marked as not yet reviewed")
    func words() throws {
        #expect(Set(PageWords.en.keys) == Set(PageWords.mi.keys))
        #expect(PageWords.mi["unreviewed"]?.isEmpty == false)
        // Loading the templates checks each word they use in both languages (the service refuses to start else).
        _ = try PageLibrary.load()
        // A word missing from a template is refused at start, not drawn as a blank.
        #expect(PageLibrary.words(in: "{{w.signIn}} {{#w.menu}}x{{/w.menu}} {{name}}") == ["signIn", "menu"])
        // Every field a form can name has a message of its own; every finding kind a title.
        for kind in FindingKind.allCases {
            #expect(PageWords.en["finding.\(kind.rawValue)"] != nil, "\(kind)")
        }
        for action in ["review", "erase", "child", "breach", "ledger"] {
            #expect(PageWords.en["action.\(action)"] != nil)
        }
        // Every word the pages' Swift code reads by a literal name (`w["key"]`) is in both languages: a missing
        // one would be drawn as a blank, which no start-up check sees.
        let sources = repositoryRoot.appendingPathComponent("Sources/TiakiWeb")
        let files = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { $0.hasSuffix(".swift") }
        let pattern = try Regex(#"\bw\["([A-Za-z0-9.]+)"\]"#)
        var named = 0
        for file in files where !file.hasPrefix("PageWords") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: pattern) {
                guard let key = match.output[1].substring.map(String.init) else { continue }
                named += 1
                #expect(PageWords.en[key] != nil && PageWords.mi[key] != nil, "\(file) reads the word \(key)")
            }
        }
        #expect(named > 40, "the scan found the words the pages read (\(named))")
    }
}
