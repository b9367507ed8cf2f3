import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

@testable import TiakiServer

/// What a retrying, hurried, proxied or mischievous client can and cannot do.
@Suite("Retries, rates, proxies and text")
struct AbuseTests {
    @Test("Idempotency-Key: a retry gets the first answer and records nothing; another body with it is refused")
    func idempotency() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                var headers = cluster.headers("a")
                headers[try #require(HTTPField.Name("Idempotency-Key"))] = "0f4c7e5e-registration-1"
                let body = buffer(["birthMonth": "2015-06", "nsn": "123456789"])
                let first = try await client.execute(uri: "/v1/subjects", method: .post, headers: headers, body: body)
                #expect(first.status == .created)
                let size = cluster.size
                let retry = try await client.execute(uri: "/v1/subjects", method: .post, headers: headers, body: body)
                #expect(retry.status == .created && String(buffer: retry.body) == String(buffer: first.body))
                #expect(retry.headers[try #require(HTTPField.Name("Idempotent-Replayed"))] == "true")
                #expect(cluster.size == size)
                let other = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: headers,
                    body: buffer(["birthMonth": "2016-06"])
                )
                #expect(other.status == .unprocessableContent)
                #expect(other.json["type"]?.stringValue == "urn:tiaki:problem:idempotency-key-reused")
                #expect(cluster.size == size)
                // Another credential's key of the same name is its own.
                var theirs = cluster.headers("b")
                theirs[try #require(HTTPField.Name("Idempotency-Key"))] = "0f4c7e5e-registration-1"
                let b = try await client.execute(uri: "/v1/subjects", method: .post, headers: theirs, body: body)
                #expect(b.status == .created && cluster.size == size + 1)
                // A refusal is not kept: the same key may try again once the request is right.
                var fresh = cluster.headers("a")
                fresh[try #require(HTTPField.Name("Idempotency-Key"))] = "second"
                let bad = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: fresh,
                    body: buffer(["birthMonth": "June"])
                )
                #expect(bad.status == .badRequest)
                let good = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: fresh,
                    body: buffer(["birthMonth": "June"])
                )
                #expect(good.status == .badRequest)
                fresh[try #require(HTTPField.Name("Idempotency-Key"))] = String(repeating: "k", count: 300)
                let long = try await client.execute(uri: "/v1/subjects", method: .post, headers: fresh, body: body)
                #expect(long.status == .badRequest)
            }
        }
    }

    @Test("a credential that writes faster than its rate is answered 429 with Retry-After, and nothing is recorded")
    func writeRate() async throws {
        let slow: (inout ServerConfiguration) -> Void = {
            $0.writesPerSecond = 0.01
            $0.writeBurst = 3
        }
        try await Cluster.run(configure: slow) { cluster, app in
            try await app.test(.router) { client in
                var statuses: [HTTPResponse.Status] = []
                for _ in 0..<5 {
                    let r = try await client.execute(
                        uri: "/v1/subjects",
                        method: .post,
                        headers: cluster.headers("a"),
                        body: buffer(["birthMonth": "2015-06"])
                    )
                    statuses.append(r.status)
                    if r.status == .tooManyRequests {
                        #expect(r.json["type"]?.stringValue == "urn:tiaki:problem:rate-limited")
                        #expect((r.headers[.retryAfter].flatMap(Int.init) ?? 0) >= 1)
                    }
                }
                #expect(statuses == [.created, .created, .created, .tooManyRequests, .tooManyRequests])
                // Reading goes on; another credential's writes go on.
                let read = try await client.execute(uri: "/v1/notices", method: .get, headers: cluster.headers("a"))
                #expect(read.status == .ok)
                let other = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: cluster.headers("b"),
                    body: buffer(["birthMonth": "2015-06"])
                )
                #expect(other.status == .created)
                // The pages spend the same budget.
                var school = FormBrowser()
                _ = try await school.signIn(client, token: cluster.tokens["a"] ?? "")
                let page = try await school.get(client, "/children/new")
                let posted = try await school.submit(client, page, "/children", [("birthMonth", "06/2015")])
                #expect(posted.status == .tooManyRequests && posted.html.contains("Slow down"))
            }
        }
    }

    @Test("the client's address is read from X-Forwarded-For and Forwarded only when a trusted proxy sends them")
    func trustedProxies() throws {
        let addresses = ClientAddress(trusted: [
            try #require(AddressBlock("10.0.0.0/8")), try #require(AddressBlock("::1")),
        ])
        func fields(_ pairs: [(String, String)]) throws -> HTTPFields {
            var h = HTTPFields()
            for (name, value) in pairs { h.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value)) }
            return h
        }
        // From a trusted proxy: the nearest address that is not one of ours.
        #expect(
            addresses.resolve(peer: "10.1.2.3", headers: try fields([("X-Forwarded-For", "203.0.113.9, 10.9.9.9")]))
                == "203.0.113.9"
        )
        #expect(
            addresses.resolve(
                peer: "::1",
                headers: try fields([("Forwarded", "for=\"[2001:db8::7]:443\";proto=https")])
            ) == "2001:db8::7"
        )
        #expect(
            addresses.resolve(peer: "10.1.2.3", headers: try fields([("Forwarded", "for=198.51.100.4:8080")]))
                == "198.51.100.4"
        )
        // A client cannot choose: from anyone else the headers are ignored.
        #expect(
            addresses.resolve(peer: "198.51.100.20", headers: try fields([("X-Forwarded-For", "1.2.3.4")]))
                == "198.51.100.20"
        )
        // Garbage in the header counts as the proxy itself.
        #expect(
            addresses.resolve(peer: "10.1.2.3", headers: try fields([("X-Forwarded-For", "not-an-address")]))
                == "10.1.2.3"
        )
        #expect(AddressBlock("10.0.0.0/33") == nil && AddressBlock("example.org") == nil)
        #expect(try #require(AddressBlock("192.168.4.0/22")).contains("192.168.7.255"))
        #expect(try #require(AddressBlock("192.168.4.0/22")).contains("192.168.8.0") == false)
        #expect(try #require(AddressBlock("10.0.0.0/8")).contains("::ffff:10.2.3.4"))
    }

    /// Characters no name or free text may hold: NUL and other controls, and the bidirectional controls.
    static let spoofs: [String] = [
        "Aroha\u{0}", "Ar\u{202E}oha", "Aro\u{2066}ha\u{2069}", "Aroha\u{7F}", "A\u{1B}[31m",
    ]

    @Test(
        "every name and free-text field refuses control and bidirectional characters, naming the field",
        arguments: spoofs
    )
    func textThatCannotSpoof(_ spoof: String) async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let recorded = try await cluster.consent(subject)
            let disclosure = try await cluster.disclose(subject, date: "2026-03-01")
            try await app.test(.router) { client in
                func consent(_ path: [String], _ value: String) -> JSONValue {
                    guard case .object(var o) = consentBody else { return consentBody }
                    switch path.count {
                    case 1: o[path[0]] = .string(value)
                    default:
                        if case .object(var inner) = o[path[0]] ?? .object([:]) {
                            inner[path[1]] = .string(value)
                            o[path[0]] = .object(inner)
                        }
                    }
                    return .object(o)
                }
                var consenters = consentBody
                if case .object(var o) = consentBody {
                    o["consenters"] = [["role": "parent", "name": .string(spoof)]]
                    consenters = .object(o)
                }
                let cases: [(String, String, String, JSONValue)] = [
                    ("a", "/v1/subjects", "name", ["birthMonth": "2015-06", "name": .string(spoof)]),
                    (
                        "a", "/v1/subjects", "localReference",
                        ["birthMonth": "2015-06", "localReference": .string(spoof)]
                    ),
                    ("a", "/v1/subjects", "notes", ["birthMonth": "2015-06", "notes": .string(spoof)]),
                    ("a", "/v1/subjects/\(subject)/consents", "text", consent(["text"], spoof)),
                    (
                        "a", "/v1/subjects/\(subject)/consents", "sharing.protection",
                        consent(["sharing", "protection"], spoof)
                    ),
                    (
                        "a", "/v1/subjects/\(subject)/consents", "accuracy.contact",
                        consent(["accuracy", "contact"], spoof)
                    ),
                    ("a", "/v1/subjects/\(subject)/consents", "withdrawal.how", consent(["withdrawal", "how"], spoof)),
                    (
                        "a", "/v1/subjects/\(subject)/consents", "informed.method",
                        consent(["informed", "method"], spoof)
                    ),
                    ("a", "/v1/subjects/\(subject)/consents", "consenters[0].name", consenters),
                    ("a", "/v1/consents/\(recorded)/withdraw", "reason", ["by": "parent", "reason": .string(spoof)]),
                    (
                        "privacy", "/v1/disclosures/\(disclosure)/review", "notes",
                        ["outcome": "justified", "notes": .string(spoof)]
                    ),
                    (
                        "privacy", "/v1/breaches", "description",
                        [
                            "found": "2026-03-02T09:00:00Z", "description": .string(spoof),
                            "disclosures": [.number(Double(disclosure))],
                        ]
                    ),
                    ("admin", "/v1/orgs", "name", ["id": "school-z", "kind": "school", "name": .string(spoof)]),
                    (
                        "admin", "/v1/credentials", "holder",
                        ["org": "school-a", "role": "member", "holder": .string(spoof)]
                    ),
                ]
                let size = cluster.size
                for (who, path, field, body) in cases {
                    let r = try await client.execute(
                        uri: path,
                        method: .post,
                        headers: cluster.headers(who),
                        body: buffer(body)
                    )
                    #expect(r.status == .badRequest, "\(path) \(field): \(r.status)")
                    #expect(
                        r.json["field"]?.stringValue == field,
                        "\(path) \(field): \(r.json["field"]?.stringValue ?? "none")"
                    )
                    #expect(r.json["detail"]?.stringValue?.contains("must not hold") == true, "\(path) \(field)")
                }
                #expect(cluster.size == size)
            }
        }
        #expect(FreeText.forbidden(in: "Te Kōhanga Reo o Tūī\nline two", multiline: true) == nil)
        #expect(FreeText.forbidden(in: "Te Kōhanga Reo o Tūī\nline two", multiline: false) != nil)
    }
}
