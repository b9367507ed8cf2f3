import Foundation
import Testing
import TiakiLedger

@Suite("tiaki export --consents")
struct ExportCommandTests {
    let bundle = auditSamples.appendingPathComponent("scenarios/disclosure-after-withdrawal/bundle").path

    @Test("a bundle's consents as a FHIR Bundle on standard output, and as ISO 27560 records in a new file")
    func formats() throws {
        let fhir = try TiakiProcess.run(["export", "--data", bundle, "--consents", "--format", "fhir-r4"])
        #expect(fhir.exitCode == 0, "\(fhir.stderr)")
        let document = try JSONParser().parse(Array(fhir.stdout.utf8))
        let resources = (document["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }
        #expect(document["resourceType"] == "Bundle" && document["type"] == "collection")
        #expect(resources.filter { $0["resourceType"] == "CodeSystem" }.count == 6)
        let consents = resources.filter { $0["resourceType"] == "Consent" }
        #expect(!consents.isEmpty)
        #expect(consents.contains { $0["status"] == "inactive" })

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-export-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("records.json").path
        let iso = try TiakiProcess.run(["export", "--data", bundle, "--consents", "--format", "iso27560", "--out", out])
        #expect(iso.exitCode == 0, "\(iso.stderr)")
        let refusals = consents.filter { $0["status"] == "rejected" }.count
        #expect(
            iso.stderr.contains("Exported \(consents.count - refusals) consents and \(refusals) refusals as iso27560")
        )
        let records = try JSONParser().parse(Array(try Data(contentsOf: URL(fileURLWithPath: out))))["records"]
        #expect(records?.arrayValue?.count == consents.count)

        // The file is not written over.
        let again = try TiakiProcess.run([
            "export", "--data", bundle, "--consents", "--format", "iso27560", "--out", out,
        ])
        #expect(again.exitCode == 2 && again.stderr.contains("exists; give a new file"))
    }

    @Test("a missing or unknown format, and options that belong to --consents, are usage errors")
    func usage() throws {
        for (arguments, message) in [
            (["export", "--data", bundle, "--consents"], "--consents needs --format fhir-r4 or --format iso27560"),
            (["export", "--data", bundle, "--consents", "--format", "fhir"], "--format must be fhir-r4 or iso27560"),
            (["export", "--data", bundle, "--format", "fhir-r4", "--out", "/tmp/x"], "go with --consents"),
        ] {
            let run = try TiakiProcess.run(arguments)
            #expect(run.exitCode != 0)
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
    }
}

@Suite("tiaki backup")
struct BackupCommandTests {
    @Test("a data directory backed up to one archive that restores and verifies; an existing file is refused")
    func backup() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-backup-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data").path
        #expect(try TiakiProcess.run(["simulate", "--data", data, "--subjects", "20", "--days", "30"]).exitCode == 0)
        let out = directory.appendingPathComponent("backup.tar").path
        let run = try TiakiProcess.run(["backup", "--data", data, "--out", out])
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(
            run.stdout.contains("the copy verified") && run.stdout.contains("Restore with: mkdir -m 700 DIR && tar -xf")
        )
        #expect(run.stdout.contains("seal.key and lookup.key are not in it"))
        let restored = directory.appendingPathComponent("restored").path
        try FileManager.default.createDirectory(
            atPath: restored,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xf", out, "-C", restored]
        try tar.run()
        tar.waitUntilExit()
        let vkey = try String(contentsOfFile: data + "/log.vkey", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // The archive holds no key-encryption key: the database in it opens nothing sealed.
        #expect(!FileManager.default.fileExists(atPath: restored + "/seal.key"))
        #expect(!FileManager.default.fileExists(atPath: restored + "/lookup.key"))
        let verify = try TiakiProcess.run(["verify", restored, "--vkey", vkey])
        #expect(verify.exitCode == 0 && verify.stdout.contains("VALID"), "\(verify.stdout)\(verify.stderr)")
        let again = try TiakiProcess.run(["backup", "--data", data, "--out", out])
        #expect(again.exitCode != 0 && again.stderr.contains("exists; give a new file"))
    }
}
