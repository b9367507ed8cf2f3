import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import Yams

@testable import TiakiServer

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A service on a fresh data directory with two schools, an RTLB service and a credential per role.
struct Cluster {
    let path: String
    let services: TiakiServices
    var tokens: [String: String] = [:]

    static func make(
        logger given: Logger? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> (Cluster, some ApplicationProtocol) {
        var configuration = ServerConfiguration()
        configuration.dataDirectory =
            FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-server-\(UUID().uuidString)").path
        configuration.policiesDirectory = repositoryRoot.appendingPathComponent("Policies").path
        configuration.bodyLimit = 16 * 1024
        configure(&configuration)
        var logger = given ?? Logger(label: "test")
        if given == nil { logger.logLevel = .critical }
        let (app, services) = try await buildApplication(configuration: configuration, logger: logger)
        var cluster = Cluster(path: configuration.dataDirectory, services: services)
        for (id, kind) in [
            ("school-a", "school"), ("school-b", "school"), ("school-c", "school"), ("rtlb", "rtlb"),
            ("office", "ministry-learning-support"),
        ] {
            _ = try await services.organisations.register(.init(id: id, kind: kind, name: id))
        }
        for (name, org, role) in [
            ("a", "school-a", Role.member), ("b", "school-b", .member), ("c", "school-c", .member),
            ("facilitator", "office", .facilitator),
            ("privacy", "office", .privacyOfficer), ("auditor", "office", .auditor), ("admin", "office", .admin),
        ] {
            cluster.tokens[name] = try await services.credentials.issue(.init(org: org, role: role, holder: "a test"))
                .token
        }
        return (cluster, app)
    }

    /// A cluster for `body`, closed and its directory removed however `body` ends.
    static func run(
        logger: Logger? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (Cluster, any ApplicationProtocol) async throws -> Void
    ) async throws {
        let (cluster, app) = try await make(logger: logger, configure: configure)
        defer { try? FileManager.default.removeItem(atPath: cluster.path) }
        do {
            try await body(cluster, app)
        } catch {
            await cluster.services.close()
            throw error
        }
        await cluster.services.close()
    }

    func headers(_ who: String?) -> HTTPFields {
        var h: HTTPFields = [.contentType: "application/json"]
        if let who, let token = tokens[who] { h[.authorization] = "Bearer \(token)" }
        return h
    }

    var size: UInt64 { services.ledger.checkpoint.size }

    /// The actor school-a's member credential stands for, for setting up through the services.
    static let schoolA = EntryActor(org: "school-a", credential: "test")

    /// A child registered by school-a through the services, for tests about something else.
    func child() async throws -> String {
        let subject = try await services.subjects.register(SubjectInput(birthMonth: "2015-06"), actor: Self.schoolA)
            .entry.subject
        return try #require(subject)
    }

    /// The share most tests make: the register entry to the RTLB service for a referral, by secure email, kept in
    /// New Zealand.
    static let referral = Share(
        recipient: "rtlb",
        purpose: "referral",
        information: ["register-entry"],
        channel: "secure-email",
        storageRegion: "nz"
    )

    /// A disclosure of ``referral`` about `subject`, recorded by school-a through the services.
    func disclose(_ subject: String, decision: UInt64? = nil, date: String? = nil) async throws -> Int {
        try await services.disclosures.record(
            DisclosureInput(subject: subject, decision: decision, share: Self.referral, date: date),
            actor: Self.schoolA
        ).index
    }

    /// Records `consentBody` for `subject` as school-a, through the services.
    func consent(_ subject: String) async throws -> Int {
        try await services.consents.grant(subject: subject, try consentInput(), actor: Self.schoolA).index
    }

    /// The router's routes as the OpenAPI document names them: `post /v1/consents/{consent}/withdraw`.
    func routePatterns() throws -> Set<String> {
        var configuration = ServerConfiguration()
        configuration.dataDirectory = path
        let router = try buildRouter(services: services, configuration: configuration, logger: Logger(label: "test"))
        // The API's routes; the pages at / (TiakiWeb) are not the API and are not in its document.
        return Set(
            router.routes.filter { route in
                let path = route.path.description
                return path.hasPrefix("/v1") || path == "/healthz" || path == "/metrics"
            }.map { route in
                let parts = route.path.description.split(separator: "/").map {
                    $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
                }
                return "\(route.method.rawValue.lowercased()) /" + parts.joined(separator: "/")
            }
        )
    }
}

extension TestResponse {
    var json: JSONValue { (try? JSONParser().parse(Array(body.readableBytesView))) ?? .null }
}

/// `consentBody` as the typed input the services take.
func consentInput(_ body: JSONValue = consentBody) throws -> ConsentInput {
    try JSONValueDecoder().decode(ConsentInput.self, from: body)
}

func buffer(_ value: JSONValue) -> ByteBuffer { ByteBuffer(bytes: (try? CanonicalJSON.encode(value)) ?? []) }

let consentBody: JSONValue = [
    "purposes": ["learning-support-planning", "referral"], "information": ["register-entry", "assessment-progress"],
    "audience": ["kinds": ["rtlb"]],
    "sharing": ["channels": ["secure-email"], "storageRegions": ["nz"], "protection": "encrypted email"],
    "retention": ["until": "2027-12-31"], "accuracy": ["contact": "the SENCO", "method": "ask to see it"],
    "withdrawal": ["effect": "support continues; sharing stops", "how": "tell the school"],
    "consenters": [["role": "parent", "name": "Mere Parata"]],
    "informed": ["date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting"],
    "text": "We would like to share…",
]

func decisionBody(_ subject: String, purpose: String = "referral") -> JSONValue {
    [
        "subject": .string(subject), "purpose": .string(purpose), "information": ["register-entry"],
        "recipient": "rtlb",
        "channel": "secure-email", "storageRegion": "nz", "date": "2026-03-01",
    ]
}

@Suite("HTTP service")
struct ServerTests {
    @Test("a school registers a child, records consent, and gets a permit and a deny, each recorded and explained")
    func schoolFlow() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                let registered = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["birthMonth": "2015-06", "nsn": "123456789", "name": "Aroha"])
                )
                #expect(registered.status == .created)
                let subject = try #require(registered.json["subject"]?.stringValue)
                let found = try await client.execute(
                    uri: "/v1/subjects?nsn=123456789",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(found.json["subject"]?.stringValue == subject)
                let consent = try await client.execute(
                    uri: "/v1/subjects/\(subject)/consents",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(consentBody)
                )
                #expect(consent.status == .created)
                let consentID = try #require(consent.json["consent"]?.integerValue)
                // The receipt proves the consent is in the ledger under the signed checkpoint.
                let receipt = try #require(consent.json["receipt"])
                let note = try SignedCheckpoint(parsing: try #require(receipt["checkpoint"]?.stringValue))
                let entry = Array(try #require(receipt["entry"]?.stringValue).utf8)
                let proof = try #require(receipt["inclusionProof"]?.arrayValue).compactMap {
                    $0.stringValue.flatMap(MerkleHash.init(hex:))
                }
                #expect(
                    Merkle.verifyInclusion(
                        leafHash: Merkle.leafHash(entry),
                        index: UInt64(consentID),
                        size: note.size,
                        proof: proof,
                        root: note.root
                    )
                )
                try note.note.verify(with: [cluster.services.ledger.verifier])

                var before = cluster.size
                let permit = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(decisionBody(subject))
                )
                #expect(permit.status == .created)
                #expect(permit.json["effect"]?.stringValue == "permit")
                #expect(permit.json["consents"] == [.number(Double(consentID))])
                #expect(cluster.size == before + 1)
                before = cluster.size
                let deny = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(decisionBody(subject, purpose: "transition"))
                )
                #expect(deny.json["effect"]?.stringValue == "deny")
                #expect(
                    deny.json["reasons"]?.arrayValue?.contains {
                        $0.stringValue?.contains("not a move between") == true
                    }
                        == true
                )
                #expect(cluster.size == before + 1)

                let decision = try #require(permit.json["decision"]?.integerValue)
                let disclosed = try await client.execute(
                    uri: "/v1/disclosures",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer([
                        "subject": .string(subject), "decision": .number(Double(decision)), "recipient": "rtlb",
                        "purpose": "referral", "information": ["register-entry"], "channel": "secure-email",
                        "storageRegion": "nz",
                    ])
                )
                #expect(disclosed.status == .created)
                #expect(disclosed.json["flags"] == [])
                let undecided = try await client.execute(
                    uri: "/v1/disclosures",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer([
                        "subject": .string(subject), "recipient": "rtlb", "purpose": "transition",
                        "information": ["register-entry"], "channel": "secure-email", "storageRegion": "nz",
                    ])
                )
                #expect(undecided.json["flags"] == ["no-decision"])

                let withdrawn = try await client.execute(
                    uri: "/v1/consents/\(consentID)/withdraw",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["by": "parent"])
                )
                #expect(withdrawn.status == .ok)
                let again = try await client.execute(
                    uri: "/v1/consents/\(consentID)/withdraw",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["by": "parent"])
                )
                #expect(again.status == .conflict)
                #expect(again.headers[.contentType] == "application/problem+json")
                let after = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(decisionBody(subject))
                )
                #expect(after.json["effect"]?.stringValue == "deny")
            }
        }
    }

    @Test("other organisations, wrong roles and bad tokens are refused without revealing whether a subject exists")
    func access() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                let subject = try #require(
                    try await client.execute(
                        uri: "/v1/subjects",
                        method: .post,
                        headers: cluster.headers("a"),
                        body: buffer(["birthMonth": "2015-06", "nsn": "111222333"])
                    ).json["subject"]?.stringValue
                )
                let consent = try await client.execute(
                    uri: "/v1/subjects/\(subject)/consents",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(consentBody)
                )
                let consentID = try #require(consent.json["consent"]?.integerValue)
                // Another school: the same 404 as for a subject that does not exist.
                for uri in [
                    "/v1/subjects/\(subject)/consents", "/v1/subjects/s-doesnotexist/consents",
                    "/v1/consents/\(consentID)",
                    "/v1/subjects?nsn=111222333",
                ] {
                    let r = try await client.execute(uri: uri, method: .get, headers: cluster.headers("b"))
                    #expect(r.status == .notFound, "\(uri)")
                }
                let other = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("b"),
                    body: buffer(decisionBody(subject))
                )
                #expect(other.status == .notFound)
                // A facilitator sees coverage but not the names.
                let facilitated = try await client.execute(
                    uri: "/v1/consents/\(consentID)",
                    method: .get,
                    headers: cluster.headers("facilitator")
                )
                #expect(facilitated.status == .ok)
                #expect(facilitated.json["consenterNames"] == nil)
                #expect(!String(buffer: facilitated.body).contains("Mere"))
                let own = try await client.execute(
                    uri: "/v1/consents/\(consentID)",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(own.json["consenterNames"] == ["Mere Parata"])
                // Roles.
                #expect(
                    try await client.execute(
                        uri: "/v1/orgs",
                        method: .post,
                        headers: cluster.headers("a"),
                        body: buffer(["id": "x", "kind": "school", "name": "X"])
                    ).status == .forbidden
                )
                #expect(
                    try await client.execute(uri: "/v1/ledger/entries", method: .get, headers: cluster.headers("a"))
                        .status
                        == .forbidden
                )
                #expect(
                    try await client.execute(
                        uri: "/v1/ledger/entries",
                        method: .get,
                        headers: cluster.headers("auditor")
                    )
                    .status == .ok
                )
                #expect(
                    try await client.execute(
                        uri: "/v1/subjects",
                        method: .post,
                        headers: cluster.headers("auditor"),
                        body: buffer(["birthMonth": "2015-06"])
                    ).status == .forbidden
                )
                // Tokens.
                #expect(
                    try await client.execute(uri: "/v1/ledger/entries", method: .get, headers: cluster.headers(nil))
                        .status
                        == .unauthorized
                )
                var bad = cluster.headers(nil)
                bad[.authorization] = "Bearer tiaki_nottherealtoken"
                #expect(
                    try await client.execute(uri: "/v1/ledger/entries", method: .get, headers: bad).status
                        == .unauthorized
                )
                // Public.
                #expect(try await client.execute(uri: "/v1/ledger/checkpoint", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/v1/ledger/vkey", method: .get).status == .ok)
                // Revocation takes effect at once.
                let issued = try await client.execute(
                    uri: "/v1/credentials",
                    method: .post,
                    headers: cluster.headers("admin"),
                    body: buffer(["org": "school-a", "role": "member", "holder": "the test's school"])
                )
                let id = try #require(issued.json["id"]?.stringValue)
                var fresh = cluster.headers(nil)
                fresh[.authorization] = "Bearer \(issued.json["token"]?.stringValue ?? "")"
                #expect(
                    try await client.execute(uri: "/v1/subjects?nsn=111222333", method: .get, headers: fresh).status
                        == .ok
                )
                #expect(
                    try await client.execute(
                        uri: "/v1/credentials/\(id)/revoke",
                        method: .post,
                        headers: cluster.headers("admin")
                    ).status == .ok
                )
                #expect(
                    try await client.execute(uri: "/v1/subjects?nsn=111222333", method: .get, headers: fresh).status
                        == .unauthorized
                )
            }
        }
    }

    @Test("bad input gets an RFC 9457 problem naming the field, and nothing is appended")
    func badInput() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            try await app.test(.router) { client in
                let before = cluster.size
                var missing = consentBody
                if case .object(var o) = missing {
                    o["retention"] = nil
                    missing = .object(o)
                }
                let cases: [(String, ByteBuffer, HTTPResponse.Status, String?)] = [
                    ("/v1/subjects/\(subject)/consents", ByteBuffer(string: "{not json"), .badRequest, nil),
                    ("/v1/subjects/\(subject)/consents", buffer(missing), .badRequest, "retention"),
                    ("/v1/decisions", buffer(["subject": .string(subject), "purpose": 5]), .badRequest, "purpose"),
                    ("/v1/decisions", buffer(decisionBody(subject, purpose: "refferal")), .badRequest, "purpose"),
                    (
                        "/v1/subjects/\(subject)/consents",
                        ByteBuffer(string: "{\"text\":\"" + String(repeating: "x", count: 20_000) + "\"}"),
                        .contentTooLarge, nil
                    ),
                ]
                for (uri, body, status, field) in cases {
                    let r = try await client.execute(uri: uri, method: .post, headers: cluster.headers("a"), body: body)
                    #expect(r.status == status, "\(uri) \(String(buffer: r.body))")
                    #expect(r.headers[.contentType] == "application/problem+json")
                    #expect(r.json["type"]?.stringValue?.hasPrefix("urn:tiaki:problem:") == true)
                    if let field { #expect(r.json["field"]?.stringValue == field, "\(String(buffer: r.body))") }
                }
                #expect(cluster.size == before)
                #expect(
                    try await client.execute(uri: "/v1/nothing-here", method: .get, headers: cluster.headers("a"))
                        .status
                        == .notFound
                )
                let wrongMethod = try await client.execute(
                    uri: "/v1/decisions",
                    method: .delete,
                    headers: cluster.headers("a")
                )
                #expect(wrongMethod.status == .methodNotAllowed)
                #expect(wrongMethod.headers[.allow] == "POST")
                #expect(wrongMethod.headers[.contentType] == "application/problem+json")
                #expect(cluster.size == before)
                let security = try await client.execute(uri: "/healthz", method: .get)
                #expect(security.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            }
        }
    }
}

/// The statuses the OpenAPI document lists for each route (`post /v1/decisions` → ["201", "400", …]).
enum DocumentedStatuses {
    /// The routes whose parameters include `Idempotency-Key`.
    static let idempotent: Set<String> = {
        guard let document = try? Yams.load(yaml: OpenAPIDocument.text) as? [String: Any],
            let paths = document["paths"] as? [String: Any]
        else { return [] }
        var out: Set<String> = []
        for (path, item) in paths {
            guard let operation = (item as? [String: Any])?["post"] as? [String: Any] else { continue }
            let parameters = operation["parameters"] as? [[String: Any]] ?? []
            if parameters.contains(where: { ($0["$ref"] as? String)?.hasSuffix("/IdempotencyKey") == true }) {
                out.insert("post \(path)")
            }
        }
        return out
    }()

    static let table: [String: Set<String>] = {
        guard let document = try? Yams.load(yaml: OpenAPIDocument.text) as? [String: Any],
            let paths = document["paths"] as? [String: Any]
        else { return [:] }
        var table: [String: Set<String>] = [:]
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { continue }
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let operation = item[method] as? [String: Any],
                    let responses = operation["responses"] as? [String: Any]
                else { continue }
                table["\(method) \(path)"] = Set(responses.keys)
            }
        }
        return table
    }()

    /// The documented route a request goes to (`post /v1/consents/{consent}/withdraw`).
    static func pattern(_ method: HTTPRequest.Method, _ uri: String) -> String? {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        return table.keys.first { key in
            let words = key.split(separator: " ", maxSplits: 1)
            // Methods are case-sensitive: `GEt` is not `GET`, and has no route.
            guard words.count == 2, method.rawValue == words[0].uppercased() else { return false }
            let segments = words[1].split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            return segments.count == parts.count
                && zip(segments, parts).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
    }

    /// Whether the document lists `status` for `pattern`.
    static func lists(_ pattern: String, _ status: HTTPResponse.Status) -> Bool {
        table[pattern]?.contains(String(status.code)) == true
    }
}

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test(
        "every route lists the statuses every route may give: 400, 401, 403, 409, 422, 429, 431, 500 and 503 where they apply"
    )
    func statuses() throws {
        for (pattern, statuses) in DocumentedStatuses.table {
            #expect(statuses.contains("500"), "\(pattern) does not list 500")
            // A request head too large is refused before any route is reached: every route can give it.
            #expect(statuses.contains("431"), "\(pattern) does not list 431")
            let isPublic = [
                "get /healthz", "get /metrics", "get /v1/openapi.yaml", "get /v1/ledger/checkpoint",
                "get /v1/ledger/vkey", "get /v1/vocabulary", "get /v1/vocabulary/{dimension}",
                "get /v1/assets/report.css",
            ]
            .contains(pattern)
            if !isPublic {
                for code in ["400", "401", "403", "429", "503"] {
                    #expect(statuses.contains(code), "\(pattern) does not list \(code)")
                }
            }
            if pattern.hasPrefix("post ") {
                // A body over the limit; an Idempotency-Key in use (409) or reused with another body (422).
                for code in ["413", "409", "422"] {
                    #expect(statuses.contains(code), "\(pattern) does not list \(code)")
                }
                #expect(DocumentedStatuses.idempotent.contains(pattern), "\(pattern) does not take Idempotency-Key")
            }
        }
    }

    @Test("the document names exactly the routes the router has, and is served")
    func routesMatch() async throws {
        try await Cluster.run { cluster, app in
            let routes = try cluster.routePatterns()
            let document = try #require(try Yams.load(yaml: OpenAPIDocument.text) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: Any])
            var documented: Set<String> = []
            for (path, item) in paths {
                for method in ["get", "post", "put", "patch", "delete"] where (item as? [String: Any])?[method] != nil {
                    documented.insert("\(method) \(path)")
                }
            }
            #expect(
                routes.subtracting(documented).isEmpty,
                "routes missing from the document: \(routes.subtracting(documented).sorted())"
            )
            #expect(
                documented.subtracting(routes).isEmpty,
                "documented routes that do not exist: \(documented.subtracting(routes).sorted())"
            )
            try await app.test(.router) { client in
                let served = try await client.execute(uri: "/v1/openapi.yaml", method: .get)
                #expect(served.status == .ok)
                #expect(String(buffer: served.body) == OpenAPIDocument.text)
                let metrics = try await client.execute(uri: "/metrics", method: .get)
                #expect(String(buffer: metrics.body).contains("tiaki_ledger_entries"))
            }
        }
    }
}
