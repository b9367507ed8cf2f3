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

@Suite("The data directory belongs to one writer")
struct DataDirectoryTests {
    static let policies = repositoryRoot.appendingPathComponent("Policies").path

    @Test(
        "while tiaki serve runs, a second serve and the admin commands are refused in one line; read-only ones work",
        .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/curl"))
    )
    func oneWriter() throws {
        let server = try ServerProcess([])
        defer { server.stop() }
        #expect(try server.waitUntilReady(["http://127.0.0.1:\(server.port)/healthz"]))
        let pid = server.process.processIdentifier
        let second = try TiakiProcess.run([
            "serve", "--data", server.data, "--policies", Self.policies, "--port", String(server.port + 1),
        ])
        #expect(second.exitCode == 2)
        #expect(
            second.stderr.contains(
                "tiaki serve (pid \(pid)) is using \(server.data); stop it, or use the admin endpoints"
            )
        )
        #expect(second.stderr.split(separator: "\n").count == 1, "\(second.stderr)")
        for command in [
            ["org", "add", "--id", "school-x", "--kind", "school", "--name", "X"],
            ["credential", "add", "--org", "tiaki", "--role", "admin", "--holder", "the test's admin"],
        ] {
            let run = try TiakiProcess.run(command + ["--data", server.data, "--policies", Self.policies])
            #expect(run.exitCode == 2, "\(command)")
            #expect(run.stderr.contains("is using \(server.data)"), "\(command): \(run.stderr)")
        }
        let verify = try TiakiProcess.run(["verify", server.data])
        #expect(verify.exitCode == 0, "\(verify.stderr)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-export-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let export = try TiakiProcess.run(["export", "--data", server.data, "--out", out])
        #expect(export.exitCode == 0, "\(export.stderr)")
        let audit = try TiakiProcess.run(["audit", "findings", server.data, "--json"])
        #expect(audit.exitCode == 0, "\(audit.stderr)")
        // The service kept working and was not disturbed.
        let (_, health) = try ServerProcess.curl(["http://127.0.0.1:\(server.port)/healthz"])
        #expect(health.contains("\"status\":\"ok\""))
    }

    @Test("the lock goes with the process, however it ends: after SIGKILL the directory can be opened again")
    func lockReleasedOnKill() throws {
        let server = try ServerProcess([])
        defer { server.stop() }
        #expect(try server.waitUntilReady(["http://127.0.0.1:\(server.port)/healthz"]))
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        let add = try TiakiProcess.run([
            "org", "add", "--data", server.data, "--policies", Self.policies, "--id", "school-x", "--kind", "school",
            "--name", "X",
        ])
        #expect(add.exitCode == 0, "\(add.stderr)")
    }

    @Test("a mistyped --data is refused, saying how to create a ledger; tiaki init creates one, once")
    func noSilentNewLedger() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-dat-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let add = try TiakiProcess.run([
            "org", "add", "--data", path, "--policies", Self.policies, "--id", "school-x", "--kind", "school",
            "--name", "X",
        ])
        #expect(add.exitCode == 2)
        #expect(add.stderr.contains("there is no ledger in \(path)"))
        #expect(add.stderr.contains("tiaki init --data \(path)"))
        #expect(!FileManager.default.fileExists(atPath: path), "nothing was created")
        let initialised = try TiakiProcess.run(["init", "--data", path, "--policies", Self.policies])
        #expect(initialised.exitCode == 0, "\(initialised.stderr)")
        let again = try TiakiProcess.run(["init", "--data", path, "--policies", Self.policies])
        #expect(again.exitCode == 2)
        let retried = try TiakiProcess.run([
            "org", "add", "--data", path, "--policies", Self.policies, "--id", "school-x", "--kind", "school",
            "--name", "X",
        ])
        #expect(retried.exitCode == 0, "\(retried.stderr)")
    }

    @Test(
        "a database URL that is not PostgreSQL's, or a server that is not there: one line, exit 2, nothing written",
        arguments: [
            ("mysql://tiaki@127.0.0.1/tiaki", "the database URL is not a PostgreSQL URL"),
            (
                "postgres://tiaki@127.0.0.1:1/tiaki",
                "cannot connect to postgres://tiaki@127.0.0.1:1/tiaki: connection refused"
            ),
            ("postgres://tiaki@127.0.0.1/tiaki?sslmode=prefer", "sslmode=prefer is not supported"),
            (
                "postgres://tiaki@127.0.0.1/tiaki?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
                "cannot read the database's root certificate /nonexistent/ca.pem"
            ),
        ]
    )
    func badDatabase(url: String, says: String) throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-nodb-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: data) }
        for command in [
            ["serve", "--port", "1"], ["init"], ["org", "add", "--id", "x", "--kind", "school", "--name", "X"],
        ] {
            let run = try TiakiProcess.run(command + ["--data", data, "--policies", Self.policies, "--database", url])
            #expect(run.exitCode == 2, "\(command)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1 && run.stderr.contains(says), "\(command): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: data), "\(command) wrote \(data)")
        }
    }

    @Test(
        "a port already in use is one clear line and exit 1, with no ready before it",
        .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/curl"))
    )
    func portInUse() throws {
        let server = try ServerProcess([])
        defer { server.stop() }
        #expect(try server.waitUntilReady(["http://127.0.0.1:\(server.port)/healthz"]))
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-clash-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let clash = try TiakiProcess.run([
            "serve", "--data", data, "--policies", Self.policies, "--port", String(server.port),
        ])
        #expect(clash.exitCode == 1)
        #expect(clash.stderr.contains("127.0.0.1:\(server.port) is already in use"))
        #expect(!clash.stderr.contains(" ready") && !clash.stdout.contains(" ready"))
    }
}
