import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel
import TiakiPolicy

@testable import TiakiServer

/// Every log line, with its metadata, as text.
final class LogCollector: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "tiaki") { label in CollectingHandler(collector: self, label: label) }
        logger.logLevel = .trace
        return logger
    }

    struct CollectingHandler: LogHandler {
        let collector: LogCollector
        let label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let line = "\(event.level) \(label) \(event.message) \(all.map { "\($0)=\($1)" }.sorted())"
            collector.lines.withLock { $0.append(line) }
        }
    }
}

@Suite("Security")
struct SecurityTests {
    @Test(
        "failed tokens from one address wait (429, Retry-After, growing), and a valid token from the same address never does"
    )
    func failedSignInsAreLimited() async throws {
        // A first wait long enough that a slow machine cannot outlast it between two attempts.
        let limited: (inout ServerConfiguration) -> Void = {
            $0.failedAuthenticationLimit = 3
            $0.failedAuthenticationFirstWait = .seconds(30)
        }
        try await Cluster.run(configure: limited) { cluster, app in
            try await app.test(.router) { client in
                // The first failures are answered 401 at once; from the limit on, each must wait.
                var statuses: [HTTPResponse.Status] = []
                var waits: [Int] = []
                for attempt in 0..<6 {
                    let wrong = try await client.execute(
                        uri: "/v1/subjects?nsn=1",
                        method: .get,
                        // An empty bearer token counts as a failure too.
                        headers: [.authorization: attempt == 0 ? "Bearer " : "Bearer not-a-token-\(attempt % 2)"]
                    )
                    statuses.append(wrong.status)
                    if wrong.status == .tooManyRequests {
                        #expect(wrong.headers[.contentType] == "application/problem+json")
                        #expect(wrong.json["type"]?.stringValue == "urn:tiaki:problem:too-many-failed-attempts")
                        waits.append(try #require(wrong.headers[.retryAfter].flatMap(Int.init)))
                    }
                }
                #expect(statuses.prefix(3).allSatisfy { $0 == .unauthorized })
                #expect(statuses.contains(.tooManyRequests))
                #expect(waits.allSatisfy { $0 >= 1 && $0 <= 60 })
                // A valid token from the same address is answered as if nothing had failed.
                for _ in 0..<3 {
                    let fine = try await client.execute(
                        uri: "/v1/findings",
                        method: .get,
                        headers: cluster.headers("privacy")
                    )
                    #expect(fine.status == .ok)
                }
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
            }
        }
    }

    @Test("failures wait longer each time, per address and per token, age out, and a flood of keys stays bounded")
    func limiterDelays() {
        let limiter = FailedAttemptLimiter(free: 2, window: .seconds(600), maximumDelay: .seconds(60))
        let t0 = ContinuousClock.now
        let a = FailedAttemptLimiter.keys(source: "10.0.0.1", token: "x")
        limiter.recordFailure(a, now: t0)
        #expect(limiter.retryAfter(a, now: t0) == nil)
        limiter.recordFailure(a, now: t0)
        // The limit reached: 1 s, then 2 s, then 4 s.
        #expect(limiter.retryAfter(a, now: t0) == 1)
        limiter.recordFailure(a, now: t0 + .seconds(1))
        #expect(limiter.retryAfter(a, now: t0 + .seconds(1)) == 2)
        limiter.recordFailure(a, now: t0 + .seconds(3))
        #expect(limiter.retryAfter(a, now: t0 + .seconds(3)) == 4)
        #expect(limiter.retryAfter(a, now: t0 + .seconds(7)) == nil)
        // Another token from the same address waits too (the address key); the same token from elsewhere too.
        #expect(
            limiter.retryAfter(FailedAttemptLimiter.keys(source: "10.0.0.1", token: "y"), now: t0 + .seconds(3)) != nil
        )
        #expect(
            limiter.retryAfter(FailedAttemptLimiter.keys(source: "10.0.0.9", token: "x"), now: t0 + .seconds(3)) != nil
        )
        #expect(
            limiter.retryAfter(FailedAttemptLimiter.keys(source: "10.0.0.9", token: "z"), now: t0 + .seconds(3)) == nil
        )
        // Never longer than the most.
        for i in 0..<30 { limiter.recordFailure(a, now: t0 + .seconds(10 + i)) }
        #expect((limiter.retryAfter(a, now: t0 + .seconds(39)) ?? 0) <= 60)
        // The failures age out of the window.
        #expect(limiter.retryAfter(a, now: t0 + .seconds(700)) == nil)
        for i in 0..<30_000 { limiter.recordFailure(["address:192.0.\(i / 256).\(i % 256)"], now: t0) }
        let b = ["address:10.0.0.3"]
        limiter.recordFailure(b, now: t0)
        limiter.recordFailure(b, now: t0)
        #expect(limiter.retryAfter(b, now: t0) != nil)
    }

    @Test("every response, errors included, carries the security headers; HSTS only over TLS")
    func securityHeaders() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                let responses = [
                    try await client.execute(uri: "/healthz", method: .get),
                    try await client.execute(uri: "/v1/findings", method: .get),
                    try await client.execute(uri: "/v1/findings", method: .get, headers: cluster.headers("a")),
                    try await client.execute(uri: "/v1/nothing", method: .get),
                    try await client.execute(uri: "/v1/findings", method: .delete),
                    try await client.execute(
                        uri: "/v1/subjects",
                        method: .post,
                        headers: cluster.headers("a"),
                        body: ByteBuffer(repeating: 0x20, count: 17 * 1024)
                    ),
                ]
                #expect(responses.map(\.status.code) == [200, 401, 403, 404, 405, 413])
                for response in responses {
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                    #expect(response.headers[.cacheControl] == "no-store")
                    #expect(response.headers[HTTPField.Name("Content-Security-Policy")!] != nil)
                    #expect(response.headers[.strictTransportSecurity] == nil)
                }
            }
        }
    }

    @Test("a whole scenario leaves no NSN, name, reason or note in the clear in any log line or any byte on disk")
    func noPersonalInformationInTheClear() async throws {
        let logs = LogCollector()
        try await Cluster.run(logger: logs.logger) { cluster, app in
            let secrets = [
                "987650123", "Wiremu Tamihana-Kereama", "Hinemoa Rangitane-Whaanga", "SCH-LOCAL-44812",
                "moving to Otautahi with his nana", "shared after the hui about reading",
                "reviewed: whanau circumstances",
                "Papa Koro Tamihana",
            ]
            try await app.test(.router) { client in
                let registered = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer([
                        "birthMonth": "2015-06", "nsn": .string(secrets[0]), "name": .string(secrets[1]),
                        "localReference": .string(secrets[3]),
                    ])
                )
                #expect(registered.status == .created)
                let subject = try #require(registered.json["subject"]?.stringValue)
                var consent = try #require(consentBody.objectValue)
                consent["consenters"] = [
                    ["role": "parent", "name": .string(secrets[2])],
                    ["role": "young-person", "name": .string(secrets[7])],
                ]
                let recorded = try await client.execute(
                    uri: "/v1/subjects/\(subject)/consents",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(.object(consent))
                )
                #expect(recorded.status == .created)
                let consentID = try #require(recorded.json["consent"]?.integerValue)
                let decided = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(decisionBody(subject))
                )
                let decision = try #require(decided.json["decision"]?.integerValue)
                var share = try #require(decisionBody(subject).objectValue)
                share["decision"] = .number(Double(decision))
                share["note"] = .string(secrets[5])
                let disclosed = try await client.execute(
                    uri: "/v1/disclosures",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(.object(share))
                )
                #expect(disclosed.status == .created)
                let disclosure = try #require(disclosed.json["disclosure"]?.integerValue)
                let reviewed = try await client.execute(
                    uri: "/v1/disclosures/\(disclosure)/review",
                    method: .post,
                    headers: cluster.headers("privacy"),
                    body: buffer(["outcome": "justified", "notes": .string(secrets[6])])
                )
                #expect(reviewed.status == .created)
                let withdrawn = try await client.execute(
                    uri: "/v1/consents/\(consentID)/withdraw",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(["by": "parent", "reason": .string(secrets[4])])
                )
                #expect(withdrawn.status == .ok)
                // Lookups by the identifiers and failed sign-ins must not log them either.
                _ = try await client.execute(
                    uri: "/v1/subjects?nsn=\(secrets[0])",
                    method: .get,
                    headers: cluster.headers("a")
                )
                _ = try await client.execute(
                    uri: "/v1/subjects?nsn=\(secrets[0])",
                    method: .get,
                    headers: [.authorization: "Bearer \(secrets[1])"]
                )
                // The member still reads its own child's details unsealed: the test would prove nothing if it could not.
                let read = try await client.execute(
                    uri: "/v1/consents/\(consentID)",
                    method: .get,
                    headers: cluster.headers("a")
                )
                #expect(String(buffer: read.body).contains(secrets[2]))
            }
            await cluster.services.close()

            let lines = logs.lines.withLock { $0 }
            #expect(!lines.isEmpty)
            for line in lines {
                for secret in secrets { #expect(!line.contains(secret), "log line names \(secret): \(line)") }
                for token in cluster.tokens.values { #expect(!line.contains(token), "a token was logged: \(line)") }
            }
            var files: [String] = []
            let enumerator = FileManager.default.enumerator(atPath: cluster.path)
            while let file = enumerator?.nextObject() as? String { files.append(file) }
            #expect(files.contains("ledger.sqlite"))
            var scanned = 0
            var controlFound = false
            for file in files {
                var isDirectory: ObjCBool = false
                let path = cluster.path + "/" + file
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
                else {
                    continue
                }
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                scanned += bytes.count
                if contains(bytes, Array("learning-support-planning".utf8)) { controlFound = true }
                for secret in secrets {
                    for form in [Array(secret.utf8), Array(secret.lowercased().utf8)] {
                        let found = contains(bytes, form)
                        #expect(!found, "\(file) holds \(secret) in the clear")
                    }
                }
            }
            #expect(scanned > 10_000)
            // The scan finds what is meant to be there: a control that the search itself works.
            #expect(controlFound)
        }
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
