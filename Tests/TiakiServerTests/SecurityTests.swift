import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TiakiConsent
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
        "a source that sends too many tokens that are not valid is refused with 429 and Retry-After, even with a good one"
    )
    func failedSignInsAreLimited() async throws {
        let limited: (inout ServerConfiguration) -> Void = { $0.failedAuthenticationLimit = 3 }
        try await Cluster.run(configure: limited) { cluster, app in
            try await app.test(.router) { client in
                // A good token does not count.
                let fine = try await client.execute(
                    uri: "/v1/findings",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(fine.status == .ok)
                for _ in 0..<3 {
                    let wrong = try await client.execute(
                        uri: "/v1/subjects?nsn=1",
                        method: .get,
                        headers: [.authorization: "Bearer not-a-token"]
                    )
                    #expect(wrong.status == .unauthorized)
                }
                let refused = try await client.execute(
                    uri: "/v1/findings",
                    method: .get,
                    headers: cluster.headers("privacy")
                )
                #expect(refused.status == .tooManyRequests)
                #expect(refused.headers[.contentType] == "application/problem+json")
                #expect(refused.json["type"]?.stringValue == "urn:tiaki:problem:too-many-failed-attempts")
                let wait = try #require(refused.headers[.retryAfter].flatMap(Int.init))
                #expect(wait >= 1 && wait <= 60)
                // Public routes without a token still answer.
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
            }
        }
    }

    @Test("failures age out of the window, per source, and a flood of sources stays bounded")
    func limiterWindow() {
        let limiter = FailedAuthenticationLimiter(limit: 2, window: .seconds(60))
        let t0 = ContinuousClock.now
        limiter.recordFailure("10.0.0.1", now: t0)
        #expect(limiter.retryAfter("10.0.0.1", now: t0) == nil)
        limiter.recordFailure("10.0.0.1", now: t0 + .seconds(10))
        #expect(limiter.retryAfter("10.0.0.1", now: t0 + .seconds(10)) == 50)
        #expect(limiter.retryAfter("10.0.0.2", now: t0 + .seconds(10)) == nil)
        #expect(limiter.retryAfter("10.0.0.1", now: t0 + .seconds(30)) == 30)
        // The first failure ages out at 60 s: one left, under the limit.
        #expect(limiter.retryAfter("10.0.0.1", now: t0 + .seconds(61)) == nil)
        for i in 0..<20_000 { limiter.recordFailure("192.0.\(i / 256).\(i % 256)", now: t0) }
        limiter.recordFailure("10.0.0.3", now: t0)
        limiter.recordFailure("10.0.0.3", now: t0)
        #expect(limiter.retryAfter("10.0.0.3", now: t0) != nil)
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
