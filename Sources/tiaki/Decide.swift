import ArgumentParser
import Foundation
import Logging
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiPolicy
import TiakiSimulation

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
