import ArgumentParser
import Foundation
import Logging
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

struct StartBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Time from start to answering, and memory, with and without a state snapshot.",
        discussion: """
            Writes a ledger of about --entries entries through the services (as `audit` does: children, consents, \
            decisions, disclosures, withdrawals, from 64 writers), closes it (which writes the state snapshot), then \
            starts it three times from the snapshot and three times without, each in a child process: the time \
            from the process being started to the consent state being ready for decisions (the ledger opened, its \
            newest checkpoint checked, the vault opened, the state loaded or rebuilt), and the child's peak \
            resident memory. Medians. With --findings, four more starts go on to build the findings projection as a \
            server does after it starts (in the background there): one from the whole ledger (which then writes \
            the findings snapshot, untimed), then three from that snapshot; each reports the time to the \
            findings being ready and the peak memory with both the state and the projection held \
            (startWithFindingsSeconds, the median from the snapshot; …WithoutSnapshot, the full pass).

            --from DIR times the starts of a data directory already written (by --keep), without writing one.
            """
    )

    @Option(help: "How many entries to write (about).")
    var entries = 1_000_000

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Keep the data directory written (its path is printed), to profile a start with `start-child`.")
    var keep = false

    @Option(help: ArgumentHelp("Time the starts of this data directory instead of writing one.", valueName: "dir"))
    var from: String?

    @Flag(
        help:
            "Also build the findings projection after a start, as a server does, from the ledger and from its snapshot."
    )
    var findings = false

    func run() async throws {
        // A directory this run writes is removed however the run ends, unless asked to keep it.
        var written: String?
        defer {
            if let written {
                if keep { note("kept \(written)") } else { try? FileManager.default.removeItem(atPath: written) }
            }
        }
        let work: String
        if let from {
            work = from
        } else {
            let policy = try PolicySet.load(directory: policies)
            let (tiaki, directory) = try await benchServices("start", policy: policy)
            written = directory
            work = directory
            let started = Date()
            do {
                _ = try await AuditBench.write(entries: entries, into: tiaki)
            } catch {
                await tiaki.close()
                throw error
            }
            note(
                String(
                    format: "wrote %d entries in %.1f s; closing (writes the snapshot) …",
                    tiaki.ledger.checkpoint.size,
                    Date().timeIntervalSince(started)
                )
            )
            await tiaki.close()
        }
        let size = try EntryReader(path: work).total ?? 0
        let snapshot = StateSnapshot.path(LedgerDirectory(path: work))
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: snapshot))?[.size] as? NSNumber)?.intValue ?? 0
        guard bytes > 0 else {
            throw ValidationError(
                from == nil
                    ? "no snapshot was written at \(snapshot)"
                    : "\(work) has no state snapshot (\(snapshot)); start and stop `tiaki serve` on it once to write one"
            )
        }

        var with: [(seconds: Double, peak: Double)] = []
        var without: [(seconds: Double, peak: Double)] = []
        for round in 1...3 {
            note("start \(round) of 3, from the snapshot and without …")
            let a = try runChild(["start-child", work, "--policies", policies])
            let b = try runChild(["start-child", work, "--policies", policies, "--no-snapshot"])
            guard a.status == 0, b.status == 0 else { throw ValidationError("a start child failed") }
            with.append((a.seconds, a.peakMegabytes))
            without.append((b.seconds, b.peakMegabytes))
        }
        // With --findings: one start that builds the findings from the whole ledger (and then writes their
        // snapshot, untimed), and three that build them from that snapshot, as a server does after a clean stop.
        var built: (seconds: Double, peakMegabytes: Double)?
        var builtFromSnapshot: [(seconds: Double, peak: Double)] = []
        if findings {
            let findingsSnapshot = FindingsSnapshot.path(LedgerDirectory(path: work))
            try? FileManager.default.removeItem(atPath: findingsSnapshot)
            note("a start from the state snapshot that goes on to build the findings from the whole ledger …")
            let c = try runChild(["start-child", work, "--policies", policies, "--findings"])
            guard c.status == 0, FileManager.default.fileExists(atPath: findingsSnapshot) else {
                throw ValidationError("the findings child failed, or wrote no findings snapshot")
            }
            built = (c.seconds, c.peakMegabytes)
            for round in 1...3 {
                note("start \(round) of 3 that builds the findings from their snapshot …")
                let d = try runChild(["start-child", work, "--policies", policies, "--findings"])
                guard d.status == 0 else { throw ValidationError("the findings child failed") }
                builtFromSnapshot.append((d.seconds, d.peakMegabytes))
            }
        }
        let start = median(with.map(\.seconds))
        let startWithout = median(without.map(\.seconds))
        let peak = median(with.map(\.peak))
        let peakWithout = median(without.map(\.peak))
        if json {
            var object: [String: JSONValue] = [
                "entries": .number(Double(size)),
                "startSeconds": .number((start * 1000).rounded() / 1000),
                "startSecondsWithoutSnapshot": .number((startWithout * 1000).rounded() / 1000),
                "startPeakMegabytes": .number((peak * 10).rounded() / 10),
                "startPeakMegabytesWithoutSnapshot": .number((peakWithout * 10).rounded() / 10),
                "snapshotMegabytes": .number((Double(bytes) / 1_048_576 * 10).rounded() / 10),
            ]
            if let built {
                object["startWithFindingsSecondsWithoutSnapshot"] = .number((built.seconds * 100).rounded() / 100)
                object["startWithFindingsPeakMegabytesWithoutSnapshot"] = .number(
                    (built.peakMegabytes * 10).rounded() / 10
                )
                object["startWithFindingsSeconds"] = .number(
                    (median(builtFromSnapshot.map(\.seconds)) * 100).rounded() / 100
                )
                object["startWithFindingsPeakMegabytes"] = .number(
                    (median(builtFromSnapshot.map(\.peak)) * 10).rounded() / 10
                )
            }
            print(String(decoding: try CanonicalJSON.encode(.object(object)), as: UTF8.self))
        } else {
            print("start benchmark (\(size) entries; snapshot \(String(format: "%.1f", Double(bytes) / 1_048_576)) MB)")
            print(String(format: "  from the snapshot   %.2f s   peak %.1f MB", start, peak))
            print(String(format: "  without (replay)    %.2f s   peak %.1f MB", startWithout, peakWithout))
            if let built {
                print(
                    String(
                        format: "  with the findings built from their snapshot   %.2f s   peak %.1f MB",
                        median(builtFromSnapshot.map(\.seconds)),
                        median(builtFromSnapshot.map(\.peak))
                    )
                )
                print(
                    String(
                        format: "  with the findings built from the ledger      %.2f s   peak %.1f MB",
                        built.seconds,
                        built.peakMegabytes
                    )
                )
            }
            print(
                "  each: "
                    + zip(with, without).map { String(format: "%.2f/%.2f s", $0.seconds, $1.seconds) }.joined(
                        separator: ", "
                    )
            )
        }
    }
}

struct StartChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start-child",
        abstract: "Open a data directory's consent state (run by `start`, and by `policy` to time the full rebuild).",
        shouldDisplay: false
    )

    @Argument var path: String
    @Option var policies = "./Policies"
    @Flag var noSnapshot = false
    @Flag var findings = false
    @Option var peakFile: String?

    func run() async throws {
        let policy = try PolicySet.load(directory: policies)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let core = try await LedgerCore.open(
            LedgerDirectory(path: path),
            vocabulary: policy.vocabulary,
            snapshots: !noSnapshot,
            logger: logger
        )
        let ready = core.read { $0.size } == core.ledger.checkpoint.size
        var projection: FindingsProjection?
        if findings {
            // What a server does next, in the background: the findings projection, from its snapshot if there
            // is one (and snapshots are not turned off), else from a full pass.
            let built = FindingsProjection(
                earliestInFlight: { core.decisionsInFlight.earliest },
                snapshotsOf: noSnapshot ? nil : core.ledger,
                logger: logger
            )
            core.observeApplied { built.feed($0) }
            try built.build(from: EntryReader(ledger: core.ledger))
            guard built.progress.ready else { throw ExitCode(1) }
            projection = built
        }
        // Timed to here: what comes after (closing, freeing the state) a serving process does not do at start.
        writePeakMemory(to: peakFile, ready: monotonicNanoseconds())
        // As a server does when it stops: a findings snapshot, if the pass read more than the one it started from.
        projection?.writeSnapshot(reason: "closing")
        await core.close()
        guard ready else { throw ExitCode(1) }
    }
}
