import Foundation
import Logging
import Testing
import TiakiLedger
import TiakiModel

@testable import TiakiConsent

@Suite("State snapshots")
struct SnapshotTests {
    /// Writes children, consents, withdrawals, refusals and shares through the services.
    func write(_ f: Fixture, children: Int, from first: Int = 0) async throws {
        for n in first..<(first + children) {
            let s = try await f.child(SubjectInput(birthMonth: "2012-0\(1 + n % 9)", name: "Child \(n)"))
            let c = try await f.services.consents.grant(subject: s, try consentInput(), actor: f.school)
            if n % 3 == 0 {
                _ = try await f.services.consents.withdraw(c.index, WithdrawalInput(by: "parent"), actor: f.school)
            }
            if n % 4 == 0 {
                _ = try await f.services.consents.refuse(
                    subject: s,
                    RefusalInput(purposes: ["transition"], information: ["register-entry"], by: ["parent"]),
                    actor: f.school
                )
            }
            if n % 5 == 0 {
                _ = try await f.services.disclosures.record(
                    DisclosureInput(
                        subject: s,
                        decision: nil,
                        share: Share(
                            recipient: "rtlb-a",
                            purpose: "referral",
                            information: ["register-entry"],
                            channel: "secure-email",
                            storageRegion: "nz"
                        )
                    ),
                    actor: f.school
                )
            }
            if n % 6 == 1 {
                _ = try await f.services.consents.grant(
                    subject: s,
                    try consentInput(purposes: ["referral", "transition"], supersedes: c.index),
                    actor: f.school
                )
            }
            if n % 7 == 2 {
                _ = try await f.services.subjects.erase(s, ErasureInput(reason: .request), actor: f.school)
            }
        }
    }

    @Test("a snapshot reads back as the same state, and a start from it plus the entries after equals a full replay")
    func roundTrip() async throws {
        try await Fixture.run { f in
            try await write(f, children: 20)
            let taken = f.core.snapshot
            f.core.writeSnapshot(reason: "test")
            let decoded = try #require(StateSnapshot.load(for: f.core.ledger, logger: Logger(label: "test")))
            #expect(decoded == taken && decoded.size == taken.size)
            // The codes keep their bits, so consents compiled before and after agree.
            for code in ["referral", "transition", "learning-support-planning"] {
                #expect(decoded.codes.bit(code, .purpose) == taken.codes.bit(code, .purpose))
            }
            try await write(f, children: 10, from: 20)
            // Everything after the snapshot replayed onto it: the live state, and a replay from nothing.
            let resumed = try ConsentState.replay(f.core.ledger, from: decoded)
            let full = try ConsentState.replay(f.core.ledger)
            #expect(resumed == full && resumed.size > decoded.size)
            #expect(f.core.read { $0 == full })
        }
    }

    @Test("a start uses the snapshot and replays only what follows; the state is what a full replay gives")
    func start() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-snap-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let services = try await TiakiServices.open(
            LedgerDirectory(path: path),
            policy: testPolicy,
            logger: Logger(label: "t")
        )
        let f = Fixture(path: path, services: services)
        _ = try await services.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
        _ = try await services.organisations.register(.init(id: "rtlb-a", kind: "rtlb", name: "RTLB A"))
        try await write(f, children: 15)
        services.core.writeSnapshot(reason: "test")
        let snapshotSize = services.core.read { $0.size }
        try await write(f, children: 5, from: 15)
        let live = services.core.read { copy $0 }
        await services.close()

        // The log says the start came from the snapshot; the state is the live one.
        let lines = LogLines()
        let reopened = try await LedgerCore.open(
            LedgerDirectory(path: path),
            vocabulary: testVocabulary,
            logger: Logger(label: "test") { _ in lines.handler }
        )
        #expect(reopened.read { $0 == live })
        #expect(lines.text.contains("fromSnapshot=\(snapshotSize)"), "\(lines.text)")
        await reopened.close()
    }

    @Test(
        "a snapshot of another ledger, of a later state than an older copy restored, damaged, or of another format is refused"
    )
    func refused() async throws {
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-other-\(UUID())").path
        let early = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-early-\(UUID())").path
        defer {
            try? FileManager.default.removeItem(atPath: other)
            try? FileManager.default.removeItem(atPath: early)
            try? FileManager.default.removeItem(atPath: early + ".tar")
        }
        // Another ledger with its own snapshot.
        let second = try await TiakiServices.open(
            LedgerDirectory(path: other),
            policy: testPolicy,
            logger: Logger(label: "t")
        )
        _ = try await second.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
        _ = try await second.organisations.register(.init(id: "rtlb-a", kind: "rtlb", name: "RTLB A"))
        try await write(Fixture(path: other, services: second), children: 6)
        second.core.writeSnapshot(reason: "test")
        await second.close()
        let foreign = try Data(contentsOf: URL(fileURLWithPath: other + "/state.snapshot"))

        try await Fixture.run { f in
            try await write(f, children: 8)
            // An early copy of this ledger (a backup restored later), before more was written.
            _ = try LedgerBackup.write(from: LedgerDirectory(path: f.path), to: early + ".tar")
            try await write(f, children: 8, from: 8)
            f.core.writeSnapshot(reason: "test")
            let own = try Data(contentsOf: URL(fileURLWithPath: f.path + "/state.snapshot"))
            let target = StateSnapshot.path(f.core.ledger.directory)
            func refuses(_ bytes: Data, _ why: String) throws {
                try bytes.write(to: URL(fileURLWithPath: target))
                let lines = LogLines()
                let state = StateSnapshot.load(for: f.core.ledger, logger: Logger(label: "t") { _ in lines.handler })
                #expect(state == nil, "\(why)")
                #expect(lines.text.contains("state snapshot not used"), "\(why): \(lines.text)")
            }
            try refuses(foreign, "another ledger's")
            try refuses(own.prefix(own.count / 2), "damaged")
            var relaid = own
            relaid[relaid.startIndex + StateSnapshot.magic.count] = StateSnapshot.format + 1
            try refuses(relaid, "another layout")
            var flipped = own
            flipped[flipped.startIndex + own.count * 2 / 3] ^= 0x01
            try refuses(flipped, "one bit changed")
            try refuses(Data(#"{"format":1,"size":3,"root":"00","state":{}}"#.utf8), "the JSON of layout 1")
            try own.write(to: URL(fileURLWithPath: target))
            #expect(StateSnapshot.load(for: f.core.ledger, logger: Logger(label: "t")) != nil)
            // The early copy, with this later snapshot beside it: refused, and the state rebuilt from its ledger.
            try FileManager.default.createDirectory(
                atPath: early,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            // The vault's keys are kept apart from the database's backup, and restored beside it.
            for key in ["seal.key", "lookup.key"] {
                try FileManager.default.copyItem(atPath: f.path + "/" + key, toPath: early + "/" + key)
            }
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tar.arguments = ["tar", "-xf", early + ".tar", "-C", early]
            try tar.run()
            tar.waitUntilExit()
            try own.write(to: URL(fileURLWithPath: early + "/state.snapshot"))
            let restored = try await openCore(early)
            let replayed = try ConsentState.replay(restored.ledger)
            #expect(restored.read { $0 == replayed } && restored.read { $0.size } < f.core.read { $0.size })
            await restored.close()
        }
    }
}

/// Log lines gathered by a test.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
    var handler: Handler { Handler(owner: self) }

    func add(_ line: String) { lock.withLock { lines.append(line) } }

    struct Handler: LogHandler {
        let owner: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let details = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            owner.add("\(event.message) \(details.joined(separator: " "))")
        }
    }
}
