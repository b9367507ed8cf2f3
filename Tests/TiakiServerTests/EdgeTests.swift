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

/// The values at the edges of an integer parameter's type, and some that are not integers at all.
let edgeValues = [
    "-1", "0", "1", "9007199254740992", "9007199254740993", "9223372036854775807", "9223372036854775808",
    "18446744073709551615", "18446744073709551616", "99999999999999999999999", "abc", "1.5", "1e3", "+1", "%20", "",
    "0x10", "١", "１",
]

/// What a request must get whatever it sends: an answer below 500 that the OpenAPI document lists for its route,
/// and a problem when it is refused.
func expectAnswered(_ response: TestResponse, _ method: HTTPRequest.Method, _ uri: String) {
    let what = "\(method) \(uri)"
    #expect(response.status.code < 500, "\(what): \(response.status) \(String(buffer: response.body))")
    if let pattern = DocumentedStatuses.pattern(method, uri) {
        #expect(DocumentedStatuses.lists(pattern, response.status), "\(pattern) answered \(response.status.code)")
    }
    if response.status.code >= 400 {
        #expect(response.headers[.contentType] == "application/problem+json", "\(what)")
        #expect(response.json["detail"]?.stringValue?.isEmpty == false, "\(what)")
    }
}

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
                #expect(disclosure.status == .badRequest)
                #expect(disclosure.json["field"]?.stringValue == "decision")
                let review = try await client.execute(
                    uri: "/v1/disclosures/9223372036854775807/review",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["outcome": "justified"])
                )
                #expect(review.status == .badRequest)
                #expect(review.json["field"]?.stringValue == "disclosure")
                let entries = try await client.execute(
                    uri: "/v1/ledger/entries?start=18446744073709551000",
                    method: .get,
                    headers: cluster.headers("auditor")
                )
                #expect(entries.status == .badRequest)
                #expect(entries.json["field"]?.stringValue == "start")
                #expect(cluster.size == before)
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
            }
        }
    }

    @Test("every number in a path, a query or a body, at the edges of its type: refused naming it, or answered")
    func numbers() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            try await app.test(.router) { client in
                for value in edgeValues {
                    let escaped = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
                    let requests: [(String, HTTPRequest.Method, String, JSONValue?)] = [
                        ("auditor", .get, "/v1/ledger/entries?start=\(escaped)", nil),
                        ("auditor", .get, "/v1/ledger/entries?end=\(escaped)", nil),
                        ("auditor", .get, "/v1/ledger/proofs/inclusion?index=\(escaped)", nil),
                        ("auditor", .get, "/v1/ledger/proofs/inclusion?index=0&size=\(escaped)", nil),
                        ("auditor", .get, "/v1/ledger/proofs/consistency?from=\(escaped)", nil),
                        ("auditor", .get, "/v1/ledger/proofs/consistency?from=0&to=\(escaped)", nil),
                        ("privacy", .get, "/v1/findings?within=\(escaped)", nil),
                        ("a", .get, "/v1/consents/\(escaped)", nil),
                        ("a", .post, "/v1/consents/\(escaped)/withdraw", ["by": "parent"]),
                        ("privacy", .post, "/v1/disclosures/\(escaped)/review", ["outcome": "justified"]),
                    ]
                    for (who, method, uri, body) in requests {
                        let r = try await client.execute(
                            uri: uri,
                            method: method,
                            headers: cluster.headers(who),
                            body: body.map(buffer)
                        )
                        expectAnswered(r, method, uri)
                    }
                    // In bodies: a number where an index belongs, as JSON would carry it.
                    let number = JSONValue.number(Double(value) ?? -1)
                    let base: JSONValue = [
                        "subject": .string(subject), "recipient": "rtlb", "purpose": "referral",
                        "information": ["register-entry"], "channel": "secure-email", "storageRegion": "nz",
                    ]
                    var disclosure = try #require(base.objectValue)
                    disclosure["decision"] = number
                    var superseding = try #require(consentBody.objectValue)
                    superseding["supersedes"] = number
                    for (uri, body) in [
                        ("/v1/disclosures", JSONValue.object(disclosure)),
                        ("/v1/subjects/\(subject)/consents", JSONValue.object(superseding)),
                    ] {
                        let r = try await client.execute(
                            uri: uri,
                            method: .post,
                            headers: cluster.headers("a"),
                            body: buffer(body)
                        )
                        expectAnswered(r, .post, uri)
                    }
                }
                // Values that are not whole numbers in range are refused naming the parameter, not answered.
                for value in ["-1", "9007199254740993", "18446744073709551615", "abc", "1.5", "+1", ""] {
                    let escaped = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
                    let r = try await client.execute(
                        uri: "/v1/ledger/proofs/inclusion?index=\(escaped)",
                        method: .get,
                        headers: cluster.headers("auditor")
                    )
                    #expect(r.status == .badRequest, "index=\(value)")
                    #expect(r.json["field"]?.stringValue == "index", "index=\(value)")
                    let c = try await client.execute(
                        uri: "/v1/consents/\(escaped.isEmpty ? "%20" : escaped)",
                        method: .get,
                        headers: cluster.headers("a")
                    )
                    #expect(c.status == .badRequest, "consent \(value)")
                }
                // Nothing above named this child's consent, so it is still in force, and nothing was recorded but
                // the disclosures sent without a decision (a whole number that names no decision is refused).
                #expect(cluster.services.core.read { $0.consents[consent]?.withdrawn } == nil)
                #expect(cluster.services.core.read { $0.counts[.consentGranted] } == 1)
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
            }
        }
    }

    @Test("a field a body does not have is refused, naming it and the nearest that it does have; nothing recorded")
    func unknownFields() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            try await app.test(.router) { client in
                let before = cluster.size
                var superseding = try #require(consentBody.objectValue)
                superseding["supercedes"] = .number(Double(consent))
                var decision = try #require(decisionBody(subject).objectValue)
                decision["serousThreat"] = true
                // A required field misspelt: the misspelling is named, not "storageRegion is missing".
                var misspelt = try #require(decisionBody(subject).objectValue)
                misspelt["storageRegoin"] = misspelt.removeValue(forKey: "storageRegion")
                var noRetention = try #require(consentBody.objectValue)
                noRetention["retension"] = noRetention.removeValue(forKey: "retention")
                var nestedMisspelt = try #require(consentBody.objectValue)
                nestedMisspelt["sharing"] = ["chanels": ["secure-email"], "storageRegions": ["nz"], "protection": "p"]
                let cases: [(String, String, JSONValue, String, String)] = [
                    ("a", "/v1/decisions", .object(misspelt), "storageRegoin", "storageRegion"),
                    ("a", "/v1/subjects/\(subject)/consents", .object(noRetention), "retension", "retention"),
                    (
                        "a", "/v1/subjects/\(subject)/consents", .object(nestedMisspelt), "sharing.chanels",
                        "sharing.channels"
                    ),
                    ("a", "/v1/subjects", ["birthMnth": "2015-06"], "birthMnth", "birthMonth"),
                    ("a", "/v1/subjects/\(subject)/consents", .object(superseding), "supercedes", "supersedes"),
                    ("a", "/v1/subjects", ["birthMonth": "2015-06", "nsnn": "123456789"], "nsnn", "nsn"),
                    (
                        "admin", "/v1/credentials",
                        ["org": "school-a", "role": "member", "holder": "x", "expires": "2027-01-01"],
                        "expires", ""
                    ),
                    (
                        "a", "/v1/consents/\(consent)/withdraw", ["by": "parent", "effectiveFrom": "2026-03-01"],
                        "effectiveFrom", ""
                    ),
                    ("a", "/v1/decisions", .object(decision), "serousThreat", "seriousThreat"),
                ]
                for (who, uri, body, field, nearest) in cases {
                    let r = try await client.execute(
                        uri: uri,
                        method: .post,
                        headers: cluster.headers(who),
                        body: buffer(body)
                    )
                    #expect(r.status == .badRequest, "\(uri): \(String(buffer: r.body))")
                    #expect(r.json["type"]?.stringValue == "urn:tiaki:problem:unknown-field", "\(uri)")
                    #expect(r.json["field"]?.stringValue == field, "\(uri)")
                    let detail = r.json["detail"]?.stringValue ?? ""
                    #expect(detail.hasPrefix("\(field) is not a field of"), "\(detail)")
                    if !nearest.isEmpty { #expect(detail.hasSuffix("did you mean \(nearest)?"), "\(detail)") }
                }
                // Nested too: the path names where.
                var nested = try #require(consentBody.objectValue)
                nested["sharing"] = [
                    "channels": ["secure-email"], "storageRegions": ["nz"], "protection": "p", "chanel": "x",
                ]
                let r = try await client.execute(
                    uri: "/v1/subjects/\(subject)/consents",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(.object(nested))
                )
                #expect(r.json["field"]?.stringValue == "sharing.chanel")
                #expect(r.json["detail"]?.stringValue?.hasSuffix("did you mean sharing.channels?") == true)
                // An unknown query parameter, too.
                let q = try await client.execute(
                    uri: "/v1/findings?asof=2026-01-01",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(q.status == .badRequest)
                #expect(q.json["detail"]?.stringValue?.contains("did you mean asOf?") == true)
                #expect(cluster.size == before)
                let still = try #require(cluster.services.core.read { $0.consents[consent] })
                #expect(still.supersededBy == nil && still.withdrawn == nil)
            }
        }
    }

    @Test(
        "an NSN is 9 or 10 ASCII digits: other scripts' digits, fractions and other lengths are refused",
        arguments: [
            "９８７６５４３２１", "٩٨٧٦٥٤٣٢١", "½¾²³½¾²³½", "12345678", "12345678901", "1234 5678", "１23456789", "12345/6789",
        ]
    )
    func nsns(_ nsn: String) async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                let before = cluster.size
                let r = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["birthMonth": "2015-06", "nsn": .string(nsn)])
                )
                #expect(r.status == .badRequest)
                #expect(r.json["field"]?.stringValue == "nsn")
                let escaped = nsn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? nsn
                let find = try await client.execute(
                    uri: "/v1/subjects?nsn=\(escaped)",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(find.status == .badRequest)
                #expect(cluster.size == before)
            }
        }
    }

    @Test("a full-width copy of a registered NSN does not register the child again")
    func fullWidthCopy() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                for (nsn, status) in [("987654321", HTTPResponse.Status.created), ("９８７６５４３２１", .badRequest)] {
                    let r = try await client.execute(
                        uri: "/v1/subjects",
                        method: .post,
                        headers: cluster.headers("a"),
                        body: buffer(["birthMonth": "2015-06", "nsn": .string(nsn)])
                    )
                    #expect(r.status == status, "\(nsn)")
                }
                #expect(cluster.services.core.read { $0.subjects.count } == 1)
                let ten = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["birthMonth": "2015-06", "nsn": "0123456789"])
                )
                #expect(ten.status == .created)
            }
        }
    }

    @Test("dates that have not come yet are refused for what has happened: told, withdrawn, declined, shared, reviewed")
    func futureDates() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let consent = try await cluster.consent(subject)
            let disclosure = try await cluster.disclose(subject)
            try await app.test(.router) { client in
                let before = cluster.size
                var informed = try #require(consentBody.objectValue)
                informed["informed"] = [
                    "date": "2099-01-01", "noticeVersion": "v1", "language": "en", "method": "meeting",
                ]
                var shared = try #require(decisionBody(subject).objectValue)
                shared["date"] = "2099-01-01"
                let cases: [(String, String, JSONValue, String)] = [
                    ("a", "/v1/subjects/\(subject)/consents", .object(informed), "informed.date"),
                    ("a", "/v1/consents/\(consent)/withdraw", ["by": "parent", "date": "2099-01-01"], "date"),
                    ("a", "/v1/disclosures", .object(shared), "date"),
                    (
                        "privacy", "/v1/disclosures/\(disclosure)/review",
                        ["outcome": "justified", "date": "2099-01-01"], "date"
                    ),
                    (
                        "a", "/v1/subjects/\(subject)/refusals",
                        [
                            "purposes": ["referral"], "information": ["register-entry"], "by": ["parent"],
                            "date": "2099-01-01",
                            "informed": [
                                "date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting",
                            ],
                        ], "date"
                    ),
                    ("a", "/v1/subjects", ["birthMonth": "2099-01"], "birthMonth"),
                ]
                for (who, uri, body, field) in cases {
                    let r = try await client.execute(
                        uri: uri,
                        method: .post,
                        headers: cluster.headers(who),
                        body: buffer(body)
                    )
                    #expect(r.status == .badRequest, "\(uri): \(String(buffer: r.body))")
                    #expect(r.json["field"]?.stringValue == field, "\(uri): \(String(buffer: r.body))")
                }
                #expect(cluster.size == before)
                // Tomorrow is allowed: New Zealand is up to 13 hours ahead of UTC.
                let tomorrow = Day(number: Day(Date()).number + 1).description
                let r = try await client.execute(
                    uri: "/v1/consents/\(consent)/withdraw",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["by": "parent", "date": .string(tomorrow)])
                )
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
        }
    }

    @Test("date query parameters are read whole, and no parameter has a value meaning 'not given'")
    func queryDates() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                for (query, status, field) in [
                    ("since=2026-01-01garbage", HTTPResponse.Status.badRequest, "since"),
                    ("since=2026-02-30", .badRequest, "since"), ("asOf=2026-1-1", .badRequest, "asOf"),
                    ("since=2026-01-01T25:00:00Z", .badRequest, "since"), ("within=3661", .badRequest, "within"),
                    ("since=2026-01-01", .ok, ""), ("since=2026-01-01T10:00:00Z", .ok, ""),
                    ("since=2026-01-01T10:00:00.123Z", .ok, ""), ("asOf=2026-06-01&within=0", .ok, ""),
                ] {
                    let r = try await client.execute(
                        uri: "/v1/findings?\(query)",
                        method: .get,
                        headers: cluster.headers("privacy")
                    )
                    #expect(r.status == status, "\(query): \(String(buffer: r.body))")
                    if !field.isEmpty { #expect(r.json["field"]?.stringValue == field, "\(query)") }
                }
                let max = try await client.execute(
                    uri: "/v1/ledger/proofs/inclusion?index=18446744073709551615",
                    method: .get,
                    headers: cluster.headers("auditor")
                )
                #expect(max.status == .badRequest)
                #expect(max.json["detail"]?.stringValue?.contains("give the entry's index") == false)
                let missing = try await client.execute(
                    uri: "/v1/ledger/proofs/inclusion",
                    method: .get,
                    headers: cluster.headers("auditor")
                )
                #expect(missing.json["detail"]?.stringValue == "give the entry's index")
            }
        }
    }

    @Test("a disclosure is reviewed once: a second review is a conflict and is not recorded")
    func oneReview() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let disclosure = try await cluster.disclose(subject)
            try await app.test(.router) { client in
                let first = try await client.execute(
                    uri: "/v1/disclosures/\(disclosure)/review",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["outcome": "justified"])
                )
                #expect(first.status == .created)
                let before = cluster.size
                let second = try await client.execute(
                    uri: "/v1/disclosures/\(disclosure)/review",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["outcome": "not-justified"])
                )
                #expect(second.status == .conflict)
                #expect(second.json["detail"]?.stringValue?.contains("already reviewed") == true)
                #expect(cluster.size == before)
                let notADisclosure = try await client.execute(
                    uri: "/v1/disclosures/0/review",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["outcome": "justified"])
                )
                #expect(notADisclosure.status == .notFound)
            }
        }
    }
}
