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
