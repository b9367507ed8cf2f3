import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TiakiLedger

@testable import TiakiServer

#if canImport(Glibc)
import Glibc
#endif

/// Sends `bytes` to 127.0.0.1:`port` on a plain socket and returns everything the server answers until it closes
/// the connection (or two seconds pass).
func rawExchange(port: Int, _ bytes: [UInt8]) -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return "" }
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // The server may answer and close before reading everything (an oversized request line): stop sending.
        if n <= 0 { break }
        sent += n
    }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received += chunk[0..<n]
    }
    return String(decoding: received, as: UTF8.self)
}

/// ``rawExchange(port:_:)`` on a thread of its own: it blocks, and the server's handlers need the cooperative pool.
func rawExchange(port: Int, _ text: String) async -> String {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: rawExchange(port: port, Array(text.utf8))) }
    }
}

@Suite("Transport")
struct TransportTests {
    @Test(
        "requests HTTP cannot read are answered with a problem and the security headers, from the outermost layer",
        arguments: [
            (
                "a request line of 100 KB",
                "GET /v1/" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", "431"
            ),
            (
                "headers of 100 KB",
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 100_000) + "\r\n\r\n",
                "431"
            ),
            ("a method HTTP does not have", "FROB /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
            ("a bad content length", "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n{}", "400"),
            (
                "a bad chunk size",
                "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400"
            ),
            ("not HTTP at all", "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}\r\n\r\n", "400"),
        ]
    )
    func unreadable(_ what: String, _ request: String, _ status: String) async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let answer = await rawExchange(port: port, request)
                let lines = answer.components(separatedBy: "\r\n")
                #expect(lines.first?.hasPrefix("HTTP/1.1 \(status)") == true, "\(what): \(answer.prefix(200))")
                let head = answer.lowercased()
                #expect(head.contains("content-type: application/problem+json"), "\(what)")
                #expect(head.contains("x-content-type-options: nosniff"), "\(what)")
                #expect(head.contains("content-security-policy: default-src 'none'"), "\(what)")
                let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined()
                let problem = try JSONParser().parse(Array(body.utf8))
                #expect(problem["type"]?.stringValue == "urn:tiaki:problem:malformed-request", "\(what)")
                #expect(problem["detail"]?.stringValue?.isEmpty == false)
                // The service still answers.
                let health = await rawExchange(
                    port: port,
                    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                #expect(health.hasPrefix("HTTP/1.1 200"), "\(health.prefix(100))")
            }
        }
    }

    @Test("a body with a content encoding the service does not take is a 415 problem, and nothing is recorded")
    func encodings() async throws {
        try await Cluster.run { cluster, app in
            try await app.test(.router) { client in
                var headers = cluster.headers("a")
                headers[.contentEncoding] = "gzip"
                let before = cluster.size
                let r = try await client.execute(
                    uri: "/v1/subjects",
                    method: .post,
                    headers: headers,
                    body: buffer(["birthMonth": "2015-06"])
                )
                #expect(r.status == .unsupportedMediaType)
                #expect(r.headers[.contentType] == "application/problem+json")
                #expect(cluster.size == before)
            }
        }
    }
}

@Suite("Divergence")
struct DivergenceTests {
    @Test(
        "when the ledger on disk moves ahead of the service, /healthz says not ok and writes say why, not 'try again'"
    )
    func diverged() async throws {
        try await Cluster.run { cluster, app in
            let subject = try await cluster.child()
            let size = cluster.size
            let db = try DatabaseQueue(path: LedgerDirectory(path: cluster.path).databasePath)
            try await db.write {
                try $0.execute(
                    sql: "INSERT INTO entries (idx, entry, leaf) VALUES (?, x'7b7d', zeroblob(32))",
                    arguments: [Int64(size)]
                )
            }
            try db.close()
            try await app.test(.router) { client in
                let decided = try await client.execute(
                    uri: "/v1/decisions",
                    method: .post,
                    headers: cluster.headers("a"),
                    body: buffer(decisionBody(subject))
                )
                #expect(decided.status == .serviceUnavailable)
                #expect(decided.json["detail"]?.stringValue?.contains("another process appended") == true)
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .serviceUnavailable)
                #expect(health.json["status"]?.stringValue == "not ok")
                #expect(health.json["reason"]?.stringValue?.contains("restarted") == true)
            }
        }
    }
}
