import Foundation
public import TiakiLedger
public import TiakiModel
import TiakiPolicy

/// Every consent and refusal of a ledger (a data directory or an export bundle) in a standard format, for
/// `tiaki export --consents`: no names, no NSNs, no reasons — the child is their subject id.
public enum ConsentExport {
    public enum Format: String, Sendable, CaseIterable {
        case fhirR4 = "fhir-r4"
        case iso27560
    }

    /// What was exported.
    public struct Result {
        public var document: JSONValue
        public var consents: Int
        public var refusals: Int
    }

    /// Reads the ledger at `path` and builds the document: a FHIR `Bundle` (the vocabulary's `CodeSystem`s, then a
    /// `Consent` per consent and refusal), or `{"records": [...]}` of ISO/IEC TS 27560 records. Statuses are as
    /// of `asOf` (default today).
    public static func run(
        path: String,
        format: Format,
        asOf: Day? = nil,
        progress: (UInt64, Double?) -> Void = { _, _ in }
    ) throws -> Result {
        let reader = try EntryReader(path: path)
        let vkeyPath = path + "/log.vkey"
        guard let vkey = try? String(contentsOfFile: vkeyPath, encoding: .utf8) else {
            throw LedgerError(.io, "cannot read \(vkeyPath), the ledger's key (its origin names the code systems)")
        }
        let origin = try NoteVerifier(vkey: vkey.trimmingCharacters(in: .whitespacesAndNewlines)).name
        var state = ConsentState()
        var kept: [UInt64: ConsentEntry] = [:]
        var newestPolicy: PolicyPublished?
        let wanted: Set<EntryKind> = [.consentGranted, .consentWithdrawn, .consentRefused]
        try reader.read(progress: progress) { index, bytes in
            var entry = try ConsentEntry(bytes: bytes)
            entry.index = index
            if wanted.contains(entry.kind) { kept[index] = entry }
            if let p = entry.body as? PolicyPublished { newestPolicy = p }
            state.apply(entry)
        }
        var vocabulary = Vocabulary([:])
        if let newestPolicy {
            vocabulary = try PolicySet.parse(files: newestPolicy.files).vocabulary
        }
        let systems = CodeSystems(origin: origin, vocabulary: vocabulary, policy: state.currentPolicy)
        let records = try ConsentRecords(state: state, entry: { kept[$0] }).all(on: asOf ?? Day(Date()))
        let refusals = records.filter { $0.status == .refused }.count
        let document: JSONValue
        switch format {
        case .fhirR4:
            let codeSystems = Vocabulary.Dimension.allCases.map { FHIRConsent.codeSystem($0, systems) }
            document = FHIRConsent.bundle(
                codeSystems + records.map { FHIRConsent.resource($0, systems) },
                timestamp: LedgerTime.format(Date())
            )
        case .iso27560:
            document = ["records": .array(records.map { ISO27560Record.record($0, systems) })]
        }
        return Result(document: document, consents: records.count - refusals, refusals: refusals)
    }
}
