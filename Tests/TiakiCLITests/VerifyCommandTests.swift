import Foundation
import Logging
import Testing
import TiakiLedger

/// Runs the built `tiaki` executable, as an auditor would.
struct TiakiProcess {
    var exitCode: Int32
    var stdout: String
    var stderr: String

    static var executable: URL {
        // The test runner sits in the build directory beside the products it depends on.
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("tiaki")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/tiaki")
    }

    static func run(_ arguments: [String]) throws -> TiakiProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return TiakiProcess(
            exitCode: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let auditSamples = repositoryRoot.appendingPathComponent("AuditSamples")

func sampleNames() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: auditSamples.path)) ?? []
    return names.filter {
        FileManager.default.fileExists(
            atPath: auditSamples.appendingPathComponent($0).appendingPathComponent("expected.json").path
        )
    }.sorted()
}

@Suite("tiaki verify on the AuditSamples")
struct AuditSampleTests {
    @Test("every kind of tampering has a sample")
    func samplesExist() {
        #expect(
            Set(sampleNames()) == [
                "valid", "entry-changed", "entry-deleted", "entries-swapped", "entry-duplicated", "tail-truncated",
                "resigned-other-key", "checkpoint-root-altered", "entries-beyond-checkpoint",
            ]
        )
    }

    @Test(
        "tiaki verify gives each sample's expected exit code and first bad index or checkpoint size",
        arguments: sampleNames()
    )
    func sample(_ name: String) throws {
        let dir = auditSamples.appendingPathComponent(name)
        let expected = try JSONParser().parse(Data(contentsOf: dir.appendingPathComponent("expected.json")))
        var arguments = ["verify", dir.path, "--json"]
        if let vkey = expected["vkey"]?.stringValue { arguments += ["--vkey", vkey] }
        let trusted = dir.appendingPathComponent("trusted.note")
        if FileManager.default.fileExists(atPath: trusted.path) { arguments += ["--trusted-checkpoint", trusted.path] }
        let result = try TiakiProcess.run(arguments)
        let output = try JSONParser().parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(Int(result.exitCode) == expected["exit"]?.integerValue, "\(result.stdout)\(result.stderr)")
        #expect(output["exit"] == expected["exit"])
        #expect(output["firstBadIndex"] == expected["firstBadIndex"], "\(result.stdout)")
        #expect(output["checkpointSize"] == expected["checkpointSize"], "\(result.stdout)")
    }

    @Test("the truncated sample passes without the checkpoint the auditor kept, and fails with it")
    func truncationNeedsTrustedCheckpoint() throws {
        let dir = auditSamples.appendingPathComponent("tail-truncated").path
        #expect(try TiakiProcess.run(["verify", dir]).exitCode == 0)
        let result = try TiakiProcess.run(["verify", dir, "--trusted-checkpoint", dir + "/trusted.note"])
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("truncated"))
    }

    @Test("the re-signed sample passes with its own key and the output says the key is the ledger's own")
    func resignedNeedsTrustedKey() throws {
        let dir = auditSamples.appendingPathComponent("resigned-other-key").path
        let result = try TiakiProcess.run(["verify", dir])
        #expect(result.exitCode == 0)
        #expect(result.stdout.contains("ledger's own log.vkey"))
    }
}

@Suite("tiaki verify on bad input")
struct VerifyBadInputTests {
    /// A copy of the valid sample to damage.
    func copyOfValid() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-cli-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: auditSamples.appendingPathComponent("valid").path, toPath: dir)
        return dir
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test("a missing path, a missing key and a bad key are usage or I/O errors (exit 2) on one line")
    func ioErrors() throws {
        let missing = try TiakiProcess.run(["verify", "/nonexistent/bundle"])
        #expect(missing.exitCode == 2)
        #expect(missing.stderr.contains("does not exist"))
        let dir = try copyOfValid()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/log.vkey")
        let noKey = try TiakiProcess.run(["verify", dir])
        #expect(noKey.exitCode == 2)
        #expect(noKey.stderr.contains("log.vkey"))
        #expect(try TiakiProcess.run(["verify", dir, "--vkey", "name+zzzz+AAAA"]).exitCode == 2)
        try FileManager.default.removeItem(atPath: dir + "/checkpoints.jsonl")
        let json = try TiakiProcess.run([
            "verify", dir, "--json", "--vkey", auditSamples.appendingPathComponent("valid/log.vkey").path,
        ])
        #expect(json.exitCode == 2)
        #expect(try JSONParser().parse(json.stdout.trimmingCharacters(in: .newlines))["exit"]?.integerValue == 2)
        #expect(try TiakiProcess.run(["verify"]).exitCode == 2)
        #expect(try TiakiProcess.run(["verify", "--help"]).exitCode == 0)
    }

    @Test("non-UTF-8, truncated and non-canonical entries fail at their index (exit 1)")
    func damagedEntries() throws {
        let dir = try copyOfValid()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/entries.jsonl"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var entries = try lines(path)

        var bytes = [UInt8](original)
        let lineStarts = [0] + bytes.indices.filter { bytes[$0] == 0x0A }.map { $0 + 1 }
        bytes[lineStarts[42] + 20] = 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var result = try TiakiProcess.run(["verify", dir, "--json"])
        #expect(result.exitCode == 1)
        #expect(
            try JSONParser().parse(result.stdout.trimmingCharacters(in: .newlines))["firstBadIndex"]?.integerValue == 42
        )

        try Data(original.prefix(original.count - 10)).write(to: URL(fileURLWithPath: path))
        result = try TiakiProcess.run(["verify", dir, "--json"])
        #expect(result.exitCode == 1)
        #expect(
            try JSONParser().parse(result.stdout.trimmingCharacters(in: .newlines))["firstBadIndex"]?.integerValue
                == 299
        )

        entries[7] = entries[7].replacingOccurrences(of: "\":", with: "\": ")
        try (entries.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        result = try TiakiProcess.run(["verify", dir])
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("entry 7 is not canonical JSON"))
    }

    @Test("a malformed checkpoint note fails naming its line (exit 1)")
    func malformedNote() throws {
        let dir = try copyOfValid()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var checkpoints = try lines(dir + "/checkpoints.jsonl")
        checkpoints[2] = #"{"note":"garbage","size":80}"#
        try (checkpoints.joined(separator: "\n") + "\n").write(
            toFile: dir + "/checkpoints.jsonl",
            atomically: true,
            encoding: .utf8
        )
        let result = try TiakiProcess.run(["verify", dir])
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("checkpoints.jsonl:3"))
    }

    @Test("export then verify round-trips a data directory, and export refuses to overwrite")
    func exportRoundTrip() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/data"
        let directory = LedgerDirectory(path: data)
        // Build a small ledger through the library, as the service will.
        var configuration = LedgerConfiguration()
        configuration.checkpointInterval = 16
        let ledger = try Ledger.open(directory, configuration: configuration, logger: Logger(label: "test"))
        for i in 0..<100 { _ = try await ledger.append(["kind": "test", "body": ["i": .number(Double(i))]]) }
        await ledger.close()
        let vkey = try String(contentsOfFile: directory.verifierKeyPath, encoding: .utf8).trimmingCharacters(
            in: .newlines
        )
        let export = try TiakiProcess.run(["export", "--data", data, "--out", work + "/bundle"])
        #expect(export.exitCode == 0, "\(export.stderr)")
        let verify = try TiakiProcess.run(["verify", work + "/bundle", "--vkey", vkey])
        #expect(verify.exitCode == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("VALID: 100 entries, 8 checkpoints."))
        #expect(try TiakiProcess.run(["verify", data, "--vkey", vkey]).exitCode == 0)
        #expect(try TiakiProcess.run(["export", "--data", data, "--out", work + "/bundle"]).exitCode == 2)
        #expect(try TiakiProcess.run(["export", "--data", work + "/none", "--out", work + "/b2"]).exitCode == 2)
        #expect(
            try TiakiProcess.run(["keys", "show", "--data", data]).stdout.trimmingCharacters(in: .newlines) == vkey
        )
    }
}
