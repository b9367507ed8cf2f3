import ArgumentParser
import Foundation
import Logging
import Synchronization
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

#if canImport(Glibc)
import Glibc
#endif

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiaki-bench",
        abstract: "Measure Tiaki's performance on this machine.",
        discussion: "Build in release mode first: swift build -c release && .build/release/tiaki-bench ledger",
        subcommands: [
            LedgerBench.self, PolicyBench.self, HTTPBench.self, AuditBench.self, WebBench.self, StartBench.self,
            WithdrawalBench.self, RegistrationBench.self,
            VerifyChild.self, StartChild.self,
            HTTPServerChild.self, AuditChild.self, WitnessServerChild.self,
        ]
    )
}

/// Prints to standard error, so that `--json` output stays clean.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// A decision-sized entry (about 300 bytes), like those the service appends on every request.
func benchEntry(_ i: Int) -> [String: JSONValue] {
    [
        "kind": "decision",
        "actor": ["org": .string("school-\(i % 97)"), "credential": .string("cred-\(i % 13)")],
        "subject": .string(String(format: "s-%016llx", UInt64(i) &* 0x9E37_79B9_7F4A_7C15)),
        "body": [
            "effect": i % 5 == 0 ? "deny" : "permit",
            "purpose": "learning-support-planning",
            "information": ["register-entry", "assessment-progress"],
            "recipient": .string("rtlb-cluster-\(i % 11)"),
            "policy": "sha256:6d1f0a4f2f9e3c1b7a5d8e0c2b4f6a8d",
            "consents": [.number(Double(i / 3))],
        ],
    ]
}

struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Durable appends, proofs and verify throughput of the ledger.",
        discussion: """
            Appends with 1 writer that waits for each append (each its own commit and checkpoint) and with 64 \
            concurrent writers (group commit); fills a ledger to N entries; times inclusion and consistency proofs \
            at N; exports it and runs verify on the bundle in a child process, reporting its peak memory.
            """
    )

    @Option(help: "Entries in the ledger that proofs and verify are measured on.")
    var entries = 1_000_000

    @Option(help: "Seconds for each append phase.")
    var seconds: Double = 5

    @Option(help: "Where to put the data directory and bundle (removed afterwards).")
    var workDirectory: String?

    @Option(
        help: ArgumentHelp(
            "A PostgreSQL database to put the ledger in instead of SQLite; it must hold no ledger (its tables are left there).",
            valueName: "postgres://user@host/db"
        )
    )
    var database: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let work =
            workDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        var logger = Logger(label: "tiaki-bench")
        logger.logLevel = .warning
        var configuration = LedgerConfiguration()
        configuration.origin = "bench.tiaki.example/ledger"
        let address = try database.map { try PostgresAddress(url: $0) }
        let ledger =
            if let address {
                try Ledger.open(
                    LedgerDirectory(path: work + "/data"),
                    database: address,
                    configuration: configuration,
                    logger: logger
                )
            } else {
                try Ledger.open(LedgerDirectory(path: work + "/data"), configuration: configuration, logger: logger)
            }
        guard ledger.checkpoint.size == 0 else {
            await ledger.close()
            throw ValidationError("\(database ?? work) already holds a ledger; give an empty database")
        }
        let clock = ContinuousClock()

        // One writer, waiting for each append.
        note("single writer: \(self.seconds) s …")
        var single = 0
        let singleStart = clock.now
        while clock.now - singleStart < .seconds(self.seconds) {
            _ = try await ledger.append(benchEntry(single))
            single += 1
        }
        let singleRate = Double(single) / Bench.seconds(clock.now - singleStart)

        // 64 concurrent writers.
        note("64 writers: \(self.seconds) s …")
        let deadline = clock.now + .seconds(self.seconds)
        let concurrentStart = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for w in 0..<64 {
                group.addTask {
                    var mine: [Double] = []
                    var i = w
                    while clock.now < deadline {
                        let t0 = clock.now
                        _ = try await ledger.append(benchEntry(i))
                        mine.append(Bench.seconds(clock.now - t0) * 1000)
                        i += 64
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        let concurrentRate = Double(latencies.count) / Bench.seconds(clock.now - concurrentStart)

        // Fill to N.
        let target = UInt64(entries)
        if ledger.checkpoint.size < target {
            note("filling to \(entries) entries …")
            let next = Counter(ledger.checkpoint.size)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        while true {
                            guard let i = next.take(below: target) else { return }
                            _ = try await ledger.append(benchEntry(Int(i)))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let size = ledger.checkpoint.size

        // Proofs at N.
        note("proofs at \(size) entries …")
        var random = SystemRandomNumberGenerator()
        var inclusion: [Double] = []
        var consistency: [Double] = []
        let root = ledger.checkpoint.root
        for _ in 0..<1000 {
            let index = UInt64.random(in: 0..<size, using: &random)
            let t0 = clock.now
            let proof = try ledger.inclusionProof(index: index, size: size)
            inclusion.append(Bench.seconds(clock.now - t0) * 1000)
            precondition(proof.hashes.count > 0)
            let first = UInt64.random(in: 1..<size, using: &random)
            let t1 = clock.now
            _ = try ledger.consistencyProof(from: first, to: size)
            consistency.append(Bench.seconds(clock.now - t1) * 1000)
        }
        // Spot-check that what was timed is right.
        let leaf = Merkle.leafHash(try ledger.entries(in: 5..<6)[0])
        guard try ledger.inclusionProof(index: 5, size: size).verify(leafHash: leaf, root: root) else {
            throw ValidationError("an inclusion proof from the store does not verify")
        }
        await ledger.close()

        note("exporting …")
        let exportStart = clock.now
        if let address {
            _ = try LedgerExport.write(
                database: address,
                directory: LedgerDirectory(path: work + "/data"),
                to: work + "/bundle",
                logger: logger
            )
        } else {
            _ = try LedgerExport.write(from: LedgerDirectory(path: work + "/data"), to: work + "/bundle")
        }
        let exportSeconds = Bench.seconds(clock.now - exportStart)

        note("verifying the bundle in a child process …")
        let child = try runChild(["verify-child", work + "/bundle"])
        guard child.status == 0 else {
            throw ValidationError("verify failed in the child process (status \(child.status))")
        }
        let verifyRate = Double(size) / child.seconds

        let results: [(String, Double)] = [
            ("appendsPerSecond", concurrentRate.rounded()),
            ("appendsPerSecondSingleWriter", singleRate.rounded()),
            ("appendP50Milliseconds", (percentile(latencies, 0.5) * 1000).rounded() / 1000),
            ("appendP99Milliseconds", (percentile(latencies, 0.99) * 1000).rounded() / 1000),
            ("verifyEntriesPerSecond", verifyRate.rounded()),
            ("verifyPeakMegabytes", (child.peakMegabytes * 10).rounded() / 10),
            ("inclusionProofMilliseconds", (median(inclusion) * 1000).rounded() / 1000),
            ("consistencyProofMilliseconds", (median(consistency) * 1000).rounded() / 1000),
            ("entries", Double(size)),
        ]
        let store = address.map { "PostgreSQL \($0.redacted)" } ?? "SQLite"
        if json {
            var object: [String: JSONValue] = [:]
            for (k, v) in results { object[k] = .number(v) }
            print(String(decoding: try CanonicalJSON.encode(.object(object)), as: UTF8.self))
        } else {
            print("ledger benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores, \(store))")
            print(
                String(
                    format: "  durable appends, 64 writers      %10.0f /s   p50 %.3f ms   p99 %.3f ms",
                    concurrentRate,
                    percentile(latencies, 0.5),
                    percentile(latencies, 0.99)
                )
            )
            print(
                String(
                    format: "  durable appends, 1 writer        %10.0f /s   (each its own commit and checkpoint)",
                    singleRate
                )
            )
            print(
                String(
                    format: "  verify (bundle, child process)   %10.0f entries/s   %.2f s   peak %.1f MB",
                    verifyRate,
                    child.seconds,
                    child.peakMegabytes
                )
            )
            print(String(format: "  inclusion proof at %d          %.3f ms (median of 1000)", size, median(inclusion)))
            print(
                String(format: "  consistency proof to %d        %.3f ms (median of 1000)", size, median(consistency))
            )
            print(String(format: "  export                           %.2f s", exportSeconds))
        }
    }
}

/// Runs this executable with `arguments` in a child process, returning its exit status, wall time and the peak
/// resident memory the child reports for itself.
///
/// The child writes its own high-water mark (`VmHWM` after `exec`): `ru_maxrss` of a child started with
/// `posix_spawn` would also count the parent's pages it shared before `exec`.
func runChild(_ arguments: [String]) throws -> (status: Int32, seconds: Double, peakMegabytes: Double) {
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let peakFile = FileManager.default.temporaryDirectory.appendingPathComponent(
        "tiaki-bench-peak-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: peakFile) }
    let argv = ([executable] + arguments + ["--peak-file", peakFile]).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let start = monotonicNanoseconds()
    let rc = posix_spawn(&pid, executable, nil, nil, argv, environ)
    guard rc == 0 else { throw ValidationError("cannot start \(executable): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let exited = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    let lines = ((try? String(contentsOfFile: peakFile, encoding: .utf8)) ?? "").split(separator: "\n")
    let kilobytes = lines.first.flatMap { Double($0) } ?? 0
    // A child that says when it was ready is timed to that moment, not to its exit (freeing what it built).
    let end = lines.dropFirst().first.flatMap { UInt64($0) } ?? monotonicNanoseconds()
    return (exited, Double(end - start) / 1e9, kilobytes / 1024)
}

/// CLOCK_MONOTONIC in nanoseconds: the same clock in a parent and its children.
func monotonicNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// Writes this process's peak resident memory in kB (`VmHWM`) to `path`, and with `ready`, the moment (see
/// ``monotonicNanoseconds()``) the child had done what it is timed for.
func writePeakMemory(to path: String?, ready: UInt64? = nil) {
    guard let path, let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return }
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
    let kilobytes = line?.split(separator: " ").dropFirst().first { !$0.isEmpty }.map(String.init) ?? "0"
    try? (kilobytes + (ready.map { "\n\($0)" } ?? "")).write(toFile: path, atomically: true, encoding: .utf8)
}

extension Bench {
    static func seconds(_ d: Duration) -> Double { tiaki_bench.seconds(d) }
}

struct VerifyChild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-child",
        abstract: "Verify a bundle (run by `ledger` in a child process to measure verify alone).",
        shouldDisplay: false
    )

    @Argument var path: String
    @Option var peakFile: String?

    func run() throws {
        defer { writePeakMemory(to: peakFile) }
        let report = try LedgerVerifier().verify(path: path)
        guard report.isValid else {
            note("verify failed: \(report.failure?.message ?? "")")
            throw ExitCode(1)
        }
    }
}

/// Hands out the next number below a limit to concurrent writers.
final class Counter: Sendable {
    private let value: Mutex<UInt64>
    init(_ start: UInt64) { value = Mutex(start) }

    func take(below limit: UInt64) -> UInt64? {
        value.withLock { n in
            guard n < limit else { return nil }
            n += 1
            return n
        }
    }
}

/// Services on a fresh data directory under the temporary directory, logging warnings only; the caller removes
/// the directory.
func benchServices(_ label: String, policy: PolicySet) async throws -> (TiakiServices, String) {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent(
        "tiaki-bench-\(label)-\(UUID().uuidString)"
    ).path
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let tiaki = try await TiakiServices.open(
        LedgerDirectory(path: work),
        policy: policy,
        random: RandomSource(seed: 7),
        logger: logger
    )
    return (tiaki, work)
}
