import ArgumentParser
import Foundation
import Logging
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy

/// Registering a child another organisation already holds against registering a new one: the answer is the same,
/// and so must be the time it takes, or the time tells a school that another knows the child.
struct RegistrationBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registration",
        abstract: "A new child's registration against an NSN another school holds, timed in interleaved pairs.",
        discussion: """
            Each pair registers one new NSN for school A and, in random order with it, enrols (for school B) an \
            NSN school A registered earlier, through the services on a durable SQLite ledger. Prints the medians \
            of each kind and their ratio, for each run.
            """
    )

    @Option(help: "Pairs in each run.")
    var pairs = 200

    @Option(help: "Runs.")
    var runs = 3

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Flag(help: "Print the figures as JSON.")
    var json = false

    func run() async throws {
        let policy = try PolicySet.load(directory: policies)
        var results: [[String: Double]] = []
        for run in 1...runs {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-reg-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            let services = try await TiakiServices.open(LedgerDirectory(path: path), policy: policy, logger: logger)
            _ = try await services.organisations.register(.init(id: "school-a", kind: "school", name: "A"))
            _ = try await services.organisations.register(.init(id: "school-b", kind: "school", name: "B"))
            let a = EntryActor(org: "school-a", credential: "a")
            let b = EntryActor(org: "school-b", credential: "b")
            // NSNs school A holds, for school B to enrol; a warm-up of both kinds first.
            var held: [String] = []
            for i in 0..<(pairs + 20) {
                let nsn = String(100_000_000 + i)
                _ = try await services.subjects.register(
                    SubjectInput(birthMonth: "2015-06", nsn: nsn, name: "Child \(i)"),
                    actor: a
                )
                held.append(nsn)
            }
            var fresh: [Double] = []
            var known: [Double] = []
            var g = SystemRandomNumberGenerator()
            for i in 0..<(pairs + 20) {
                let newInput = SubjectInput(birthMonth: "2015-06", nsn: String(200_000_000 + i), name: "New \(i)")
                let knownInput = SubjectInput(birthMonth: "2015-06", nsn: held[i], name: "Known \(i)")
                var times: (Double, Double) = (0, 0)
                for first in Bool.random(using: &g) ? [true, false] : [false, true] {
                    let started = ContinuousClock.now
                    if first {
                        _ = try await services.subjects.register(newInput, actor: a)
                        times.0 = seconds(ContinuousClock.now - started) * 1e6
                    } else {
                        _ = try await services.subjects.register(knownInput, actor: b)
                        times.1 = seconds(ContinuousClock.now - started) * 1e6
                    }
                }
                if i >= 20 {
                    fresh.append(times.0)
                    known.append(times.1)
                }
            }
            await services.close()
            let row = [
                "newMedianMicroseconds": median(fresh), "knownMedianMicroseconds": median(known),
                "knownOverNew": median(known) / median(fresh),
            ]
            results.append(row)
            if !json {
                print(
                    String(
                        format:
                            "run %d: new child median %.0f µs, child another school holds %.0f µs, ratio %.3f (%d pairs)",
                        run,
                        row["newMedianMicroseconds"] ?? 0,
                        row["knownMedianMicroseconds"] ?? 0,
                        row["knownOverNew"] ?? 0,
                        pairs
                    )
                )
            }
        }
        if json {
            let text = results.map { r in
                "{" + r.keys.sorted().map { "\"\($0)\":\(String(format: "%.3f", r[$0] ?? 0))" }.joined(separator: ",")
                    + "}"
            }.joined(separator: ",")
            print("[\(text)]")
        }
    }
}
