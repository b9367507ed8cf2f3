import ArgumentParser
import Foundation
import Logging
import Synchronization
import TiakiConsent
import TiakiLedger

/// Regenerates AuditSamples/: a valid ledger and one bundle for each kind of tampering, byte for byte the same on
/// every run (fixed key seeds, a fixed clock, one commit per entry).
@main
struct Samples: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiaki-samples",
        abstract: "Regenerate the AuditSamples bundles deterministically."
    )

    @Option(help: "Where to write the sample directories.")
    var out = "AuditSamples"

    @Option(help: "Also keep the valid sample's data directory here (for trying `tiaki export`).")
    var data: String?

    @Option(help: "The policy directory the audit scenarios are simulated under.")
    var policies = "Policies"

    static let entryCount = 300
    static let interval: UInt64 = 40
    static let origin = "samples.tiaki.example/cluster-ledger"
    static let logSeed = [UInt8](repeating: 0x11, count: 32)
    static let attackerSeed = [UInt8](repeating: 0x66, count: 32)

    func run() async throws {
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("tiaki-samples-\(UUID().uuidString)").path
        defer { try? fm.removeItem(atPath: work) }
        let logKey = try NoteSigner(name: Self.origin, seed: Self.logSeed)
        let vkey = logKey.verifier.vkey

        // The real ledger, and a rewritten one re-signed by someone else's key.
        let original = try await Self.build(at: work + "/original", seed: Self.logSeed, keepData: data)
        let rewritten = try await Self.build(at: work + "/rewritten", seed: Self.attackerSeed, rewrite: 100)
        let checkpoints = try lines(original + "/checkpoints.jsonl")
        let entries = try lines(original + "/entries.jsonl")

        func sample(
            _ name: String,
            entries e: [String],
            checkpoints c: [String],
            vkeyFile: String = vkey,
            expected: [String: JSONValue]
        ) throws {
            let dir = out + "/" + name
            try? fm.removeItem(atPath: dir)
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try write(e, to: dir + "/entries.jsonl")
            try write(c, to: dir + "/checkpoints.jsonl")
            try write([vkeyFile], to: dir + "/log.vkey")
            try write([render(.object(expected))], to: dir + "/expected.json")
        }

        try sample("valid", entries: entries, checkpoints: checkpoints, expected: ["exit": 0, "vkey": .string(vkey)])

        // An entry's bytes changed (still canonical JSON): only the root of the first checkpoint covering it shows it.
        var changed = entries
        changed[123] = changed[123].replacingOccurrences(of: "\"subject\":\"s-", with: "\"subject\":\"x-")
        try sample(
            "entry-changed",
            entries: changed,
            checkpoints: checkpoints,
            expected: ["exit": 1, "checkpointSize": 160, "vkey": .string(vkey)]
        )

        var deleted = entries
        deleted.remove(at: 150)
        try sample(
            "entry-deleted",
            entries: deleted,
            checkpoints: checkpoints,
            expected: ["exit": 1, "firstBadIndex": 150, "vkey": .string(vkey)]
        )

        var swapped = entries
        swapped.swapAt(200, 201)
        try sample(
            "entries-swapped",
            entries: swapped,
            checkpoints: checkpoints,
            expected: ["exit": 1, "firstBadIndex": 200, "vkey": .string(vkey)]
        )

        var duplicated = entries
        duplicated.insert(entries[77], at: 78)
        try sample(
            "entry-duplicated",
            entries: duplicated,
            checkpoints: checkpoints,
            expected: ["exit": 1, "firstBadIndex": 78, "vkey": .string(vkey)]
        )

        // The tail cut at a checkpoint, with its later checkpoints: consistent in itself; only the checkpoint the
        // auditor kept (size 280) shows the loss.
        let keptNote = try note(in: checkpoints, size: 280)
        try sample(
            "tail-truncated",
            entries: Array(entries.prefix(240)),
            checkpoints: checkpoints.filter { (try? size(of: $0)).map { $0 <= 240 } ?? false },
            expected: ["exit": 1, "checkpointSize": 280, "vkey": .string(vkey)]
        )
        try keptNote.write(toFile: out + "/tail-truncated/trusted.note", atomically: true, encoding: .utf8)

        // Entry 100 rewritten, the tree rebuilt and every checkpoint re-signed with another key, whose vkey
        // replaces log.vkey: internally consistent, refused by the key the auditor trusts.
        try sample(
            "resigned-other-key",
            entries: try lines(rewritten + "/entries.jsonl"),
            checkpoints: try lines(rewritten + "/checkpoints.jsonl"),
            vkeyFile: try String(contentsOfFile: rewritten + "/log.vkey", encoding: .utf8).trimmingCharacters(
                in: .newlines
            ),
            expected: ["exit": 1, "checkpointSize": 0, "vkey": .string(vkey)]
        )

        // The checkpoint of size 120 given another root and signed with the log's own key (as a compromised log
        // might): the signature verifies, the recomputed root does not match.
        var altered = checkpoints
        let index = try checkpoints.firstIndex { try size(of: $0) == 120 } ?? 0
        let original120 = try SignedCheckpoint(parsing: note(in: checkpoints, size: 120))
        let badRoot = Merkle.leafHash(Array("not the root".utf8))
        let forged = try SignedCheckpoint(
            signing: Checkpoint(origin: Self.origin, size: 120, root: badRoot),
            with: logKey
        )
        precondition(forged.root != original120.root)
        altered[index] = render(["note": .string(forged.text), "size": 120])
        try sample(
            "checkpoint-root-altered",
            entries: entries,
            checkpoints: altered,
            expected: ["exit": 1, "checkpointSize": 120, "vkey": .string(vkey)]
        )

        // The newest checkpoint removed: entries 280 to 299 are covered by no signed checkpoint.
        try sample(
            "entries-beyond-checkpoint",
            entries: entries,
            checkpoints: Array(checkpoints.dropLast()),
            expected: ["exit": 1, "firstBadIndex": 280, "vkey": .string(vkey)]
        )

        print("wrote 9 samples to \(out)")
        try await Scenarios.write(out: out, policies: policies)
        print("wrote 8 audit scenarios to \(out)/scenarios")
    }

    /// Builds a ledger of `entryCount` entries of simulated cluster activity and exports it.
    static func build(
        at path: String,
        seed: [UInt8],
        rewrite: Int? = nil,
        keepData: String? = nil
    ) async throws -> String {
        var configuration = LedgerConfiguration()
        configuration.origin = origin
        configuration.keySeed = seed
        configuration.checkpointInterval = interval
        configuration.checkpointMaxAge = .infinity
        let tick = Mutex(0)
        configuration.clock = {
            let n = tick.withLock { t in
                t += 1
                return t
            }
            return Date(timeIntervalSince1970: 1_770_022_800 + Double(n) * 1_237)  // from 2 Feb 2026, 09:00 NZDT
        }
        let dataPath = keepData ?? path + "/data"
        if keepData != nil { try? FileManager.default.removeItem(atPath: dataPath) }
        let ledger = try Ledger.open(
            LedgerDirectory(path: dataPath),
            configuration: configuration,
            logger: Logger(label: "tiaki-samples")
        )
        var random = SeededGenerator(seed: 2026)
        for i in 0..<entryCount {
            var members = activity(i, &random)
            if i == rewrite { members["body"] = ["note": "rewritten after the fact"] }
            _ = try await ledger.append(members)
        }
        await ledger.close()
        _ = try LedgerExport.write(from: LedgerDirectory(path: dataPath), to: path + "/bundle")
        return path + "/bundle"
    }

    /// Plausible, pseudonymous activity: no names, no NSNs, only random subject ids and codes.
    static func activity(_ i: Int, _ random: inout SeededGenerator) -> [String: JSONValue] {
        let orgs = ["school-kowhai", "kura-tuatahi", "els-pukeko", "rtlb-cluster-12", "mol-learning-support"]
        let purposes = ["learning-support-planning", "referral-rtlb", "transition", "cluster-needs-analysis"]
        let info = ["register-entry", "attendance", "assessment-progress", "individual-plan", "specialist-report"]
        let kinds = [
            "subject.registered", "consent.granted", "decision", "disclosure", "decision", "consent.withdrawn",
        ]
        let kind = kinds[i % kinds.count]
        let subject = String(format: "s-%012llx", random.next() & 0xFFFF_FFFF_FFFF)
        let org = orgs[Int(random.next() % UInt64(orgs.count))]
        var body: [String: JSONValue] = [:]
        switch kind {
        case "consent.granted":
            body = [
                "purposes": .array([.string(purposes[i % purposes.count])]),
                "information": .array([.string(info[i % info.count]), .string(info[(i + 2) % info.count])]),
                "audience": .array([.string(orgs[(i + 3) % orgs.count])]),
                "retention": "2027-12-31",
            ]
        case "decision":
            body = [
                "purpose": .string(purposes[i % purposes.count]), "recipient": .string(orgs[(i + 1) % orgs.count]),
                "effect": i % 4 == 0 ? "deny" : "permit",
            ]
        case "disclosure":
            body = [
                "decision": .number(Double(max(0, i - 1))), "recipient": .string(orgs[(i + 1) % orgs.count]),
                "channel": "secure-email",
            ]
        case "consent.withdrawn":
            body = ["consent": .number(Double(max(0, i - 5)))]
        default:
            body = ["kind": "student"]
        }
        return [
            "kind": .string(kind), "actor": ["org": .string(org), "credential": .string("cred-\(i % 7)")],
            "subject": .string(subject), "body": .object(body),
        ]
    }
}

func lines(_ path: String) throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true).map(
        String.init
    )
}

func write(_ lines: [String], to path: String) throws {
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
}

func render(_ value: JSONValue) -> String {
    String(decoding: (try? CanonicalJSON.encode(value)) ?? [], as: UTF8.self)
}

func size(of line: String) throws -> UInt64 {
    UInt64(try JSONParser().parse(line)["size"]?.integerValue ?? -1)
}

func note(in checkpoints: [String], size wanted: UInt64) throws -> String {
    for line in checkpoints where try size(of: line) == wanted {
        if let note = try JSONParser().parse(line)["note"]?.stringValue { return note }
    }
    throw ValidationError("no checkpoint of size \(wanted)")
}
