import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `tiaki serve` as a process, on a fresh data directory and a free port.
final class ServerProcess {
    let process = Process()
    let data: String
    let port: Int
    let log = Pipe()

    init(_ extra: [String]) throws {
        data = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-serve-\(UUID().uuidString)").path
        port = Int.random(in: 20_000..<40_000)
        process.executableURL = TiakiProcess.executable
        process.arguments =
            [
                "serve", "--data", data, "--policies", repositoryRoot.appendingPathComponent("Policies").path,
                "--port", String(port),
            ] + extra
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Runs curl with `arguments`, returning its exit code and output.
    static func curl(_ arguments: [String]) throws -> (Int32, String) {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sS", "--max-time", "5"] + arguments
        let out = Pipe()
        curl.standardOutput = out
        curl.standardError = out
        try curl.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        return (curl.terminationStatus, text)
    }

    /// Waits until `url` answers (any HTTP status), up to a minute.
    func waitUntilReady(_ arguments: [String]) throws -> Bool {
        for _ in 0..<600 {
            guard process.isRunning else { return false }
            if try Self.curl(["-o", "/dev/null"] + arguments).0 == 0 { return true }
            usleep(100_000)
        }
        return false
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: data)
    }
}

@Suite("tiaki serve")
struct ServeCommandTests {
    static let tls = repositoryRoot.appendingPathComponent("Tests/TiakiCLITests/Fixtures/tls").path

    @Test(
        "given a certificate and key it serves HTTPS only, with HSTS",
        .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/curl"))
    )
    func servesTLS() throws {
        let server = try ServerProcess([
            "--tls-certificate", Self.tls + "/certificate.pem", "--tls-key", Self.tls + "/key.pem",
        ])
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/healthz"
        #expect(try server.waitUntilReady(["--cacert", Self.tls + "/certificate.pem", url]))
        let (code, output) = try ServerProcess.curl(["--cacert", Self.tls + "/certificate.pem", "-i", url])
        #expect(code == 0)
        #expect(output.hasPrefix("HTTP/1.1 200"))
        #expect(output.lowercased().contains("strict-transport-security: max-age=31536000"))
        // Plain HTTP on the same port gets no HTTP answer.
        let (plain, answer) = try ServerProcess.curl(["-i", "http://127.0.0.1:\(server.port)/healthz"])
        #expect(plain != 0 || !answer.contains("200"))
        // An untrusted client (no CA given) refuses the self-signed certificate: it is really TLS being checked.
        #expect(try ServerProcess.curl([url]).0 != 0)
    }

    @Test("a certificate without its key, or a key file that is not a key, stops it with a clear message")
    func badTLSSettings() throws {
        let half = try TiakiProcess.run(["serve", "--tls-certificate", Self.tls + "/certificate.pem"])
        #expect(half.exitCode != 0)
        #expect(half.stderr.contains("--tls-certificate and --tls-key go together"))
        let server = try ServerProcess([
            "--tls-certificate", Self.tls + "/certificate.pem", "--tls-key", Self.tls + "/README.md",
        ])
        server.process.waitUntilExit()
        let output = String(decoding: server.log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        server.stop()
        #expect(server.process.terminationStatus != 0)
        #expect(output.contains("cannot read the TLS private key"))
    }
}
