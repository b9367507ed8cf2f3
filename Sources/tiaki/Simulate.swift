import ArgumentParser
import Foundation
import Logging
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiSimulation

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a deterministic, realistic cluster year into a new data directory.",
        discussion: """
            Schools, kura, early learning services, a kōhanga reo, an RTLB service and Ministry specialists; \
            children registered; consents of varied coverage given, declined, withdrawn and replaced; requests to \
            share decided under the policy set and recorded; disclosures, a few of them flagged; personal details \
            erased when retention ends. Everything goes through the same code as the service, one entry at a time, \
            so the same seed and sizes write the same ledger. For demos, samples and benchmarks.
            """
    )

    @Option(help: ArgumentHelp("The data directory to create (must not hold a ledger).", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Option(help: "The random seed.")
    var seed: UInt64 = 1

    @Option(help: "How many children to register.")
    var subjects = 1000

    @Option(help: "How many days to simulate, from 2 February 2026.")
    var days = 365

    func validate() throws {
        guard subjects > 0, subjects <= 1_000_000 else {
            throw ValidationError("--subjects must be between 1 and 1,000,000")
        }
        guard days > 0, days <= 3650 else { throw ValidationError("--days must be between 1 and 3,650") }
    }

    func run() async throws {
        let policy: PolicySet
        do {
            policy = try PolicySet.load(directory: policies)
        } catch let error as PolicyError {
            Output.error(error.description)
            throw Output.fail("simulate", "the policy set in \(policies) is not valid (see above)")
        }
        var configuration = SimulationConfiguration()
        configuration.seed = seed
        configuration.subjects = subjects
        configuration.days = days
        var logger = Logger(label: "tiaki.simulate")
        logger.logLevel = .warning
        let progress = ProgressLine("simulating")
        do {
            let summary = try await ClusterSimulation.run(
                directory: LedgerDirectory(path: data),
                policy: policy,
                configuration: configuration,
                logger: logger
            ) { day, total, entries in
                progress.update(entries, fraction: Double(day) / Double(total), suffix: "day \(day) of \(total)")
            }
            progress.finish()
            print("Simulated \(days) days into \(data): \(summary)")
        } catch let error as TiakiError {
            throw Output.fail("simulate", error.message)
        } catch let error as LedgerError {
            throw Output.fail("simulate", error.message)
        }
    }
}
