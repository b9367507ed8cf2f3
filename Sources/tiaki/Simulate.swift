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

struct Decide: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decide one share request against a data directory, and explain the decision.",
        discussion: """
            REQUEST is a JSON file (or - for standard input) like
              {"subject": "s-…", "purpose": "referral", "information": ["register-entry"],
               "recipient": "rtlb-cluster", "channel": "secure-email", "storageRegion": "nz",
               "date": "2026-06-01", "requester": "school-kowhai", "requesterRole": "member"}
            The decision is printed and not recorded, unless --record is given (then it is appended to the ledger,
            as the service does for every decision). Exit 0 when permitted, 1 when denied, 2 on bad input.
            """
    )

    @Option(help: ArgumentHelp("The data directory.", valueName: "dir"))
    var data = "./tiaki-data"
    @Option(help: databaseHelp)
    var database: String?

    @Option(help: ArgumentHelp("The policy directory.", valueName: "dir"))
    var policies = "./Policies"

    @Argument(help: "The request, as a JSON file, or - for standard input.")
    var request: String

    @Flag(help: "Append the decision to the ledger.")
    var record = false

    @Flag(help: "Print the decision as JSON.")
    var json = false

    func run() async throws {
        let text: Data?
        if request == "-" {
            text = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            text = FileManager.default.contents(atPath: request)
        }
        guard let text else { throw Output.fail("decide", "cannot read \(request)") }
        let share: ShareRequest
        do {
            share = try JSONValueDecoder().decode(ShareRequest.self, from: JSONParser().parse([UInt8](text)))
        } catch let error as JSONError {
            throw Output.fail("decide", "\(request) is not JSON: \(error)")
        } catch {
            throw Output.fail("decide", "\(request): \(JSONValueDecoder.describe(error).message)")
        }
        let services = try await openServices(
            data: data,
            database: database,
            policies: policies,
            command: "decide",
            publish: record
        )
        let decision: DecisionRecord
        var index: Int?
        do {
            if record {
                let (d, recorded) = try await services.decisions.decideAndRecord(
                    share,
                    actor: EntryActor(org: share.requester)
                )
                decision = d
                index = recorded.index
            } else {
                decision = try services.decisions.decide(share)
            }
        } catch let error as TiakiError {
            await services.close()
            throw Output.fail("decide", error.message + (error.field.map { " (field \($0))" } ?? ""))
        }
        await services.close()
        if json {
            var value = try JSONValueEncoder().encode(decision)
            if let index, case .object(var o) = value {
                o["index"] = .number(Double(index))
                value = .object(o)
            }
            print(String(decoding: try CanonicalJSON.encode(value), as: UTF8.self))
        } else {
            print(decision.effect == .permit ? "PERMIT" : "DENY")
            for reason in decision.reasons { print("  \(reason)") }
            for o in decision.obligations { print("  Obligation: \(o.detail)") }
            print(
                "  Policy \(decision.policy), on a ledger of \(decision.basis) entries."
                    + (index.map { " Recorded as entry \($0)." } ?? " Not recorded (use --record).")
            )
        }
        if decision.effect == .deny { throw ExitCode(1) }
    }
}
