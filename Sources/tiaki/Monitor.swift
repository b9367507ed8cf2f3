import ArgumentParser
import Foundation
import TiakiLedger

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct Monitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a Tiaki service's ledger between audits: it must only ever grow, for everyone.",
        discussion: """
            Fetches URL/v1/ledger/checkpoint, checks it is signed by --vkey (and, with --witness, cosigned by \
            --witness-quorum of those witnesses), and checks it against the newest checkpoint kept in --state: the \
            same size must have the same root, a larger one must extend it (a consistency proof from the service, \
            which needs a credential of any role: --token-file), a smaller one is a shrink. Keeps the newest. \
            With --entries (an auditor's token) it also reads every entry it has not read before and checks each is \
            canonical with its own index and that together they hash to the checkpoint's root. \
            Prints one line per check. On a shrink, a fork, a bad signature or missing cosignatures it prints \
            PROBLEM and exits 1; a service it cannot reach exits 2. Without --interval it checks once (for cron); \
            with it, it checks every S seconds until stopped or until a problem.
            """
    )

    @Argument(help: "The service's base URL (e.g. https://tiaki.cluster12.example.nz).")
    var url: String

    @Option(help: ArgumentHelp("The directory where the monitor keeps the newest checkpoint it saw.", valueName: "dir"))
    var state: String

    @Option(help: ArgumentHelp("The log's verifier key (from the operator, not from the service).", valueName: "vkey"))
    var vkey: String

    @Option(
        name: .customLong("witness"),
        help: ArgumentHelp("A witness's verifier key; repeatable.", valueName: "vkey")
    )
    var witnesses: [String] = []

    @Option(help: ArgumentHelp("How many of the witnesses must have cosigned (default: all).", valueName: "n"))
    var witnessQuorum: Int?

    @Option(help: ArgumentHelp("A file holding a bearer token (any role), for consistency proofs.", valueName: "file"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("Check every S seconds instead of once.", valueName: "s"))
    var interval: Double?

    @Flag(
        help:
            "Also read every entry not read before (needs an auditor's or privacy officer's token): each canonical with its own index, all hashing to the checkpoint's root."
    )
    var entries = false

    func validate() throws {
        try validateWitnessQuorum(witnessQuorum, witnesses: witnesses.count)
        if let interval, interval < 1 { throw ValidationError("--interval must be at least 1 second") }
        if entries, tokenFile == nil { throw ValidationError("--entries needs --token-file with an auditor's token") }
    }

    func run() async throws {
        let monitor: LogMonitor
        let token: String?
        do {
            monitor = LogMonitor(
                log: try readVerifierKey(vkey),
                witnesses: try witnesses.map { w throws(LedgerError) in try CosignatureVerifier(vkey: w) },
                quorum: witnessQuorum,
                stateDirectory: state
            )
            token = try tokenFile.map { file throws(LedgerError) in
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw LedgerError(.io, "cannot read \(file)")
                }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        } catch {
            throw Output.fail("monitor", error.message)
        }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        while true {
            let outcome: LogMonitor.Outcome
            do {
                let text = try await Self.fetch(base + "/v1/ledger/checkpoint", token: nil)
                let reader: ((UInt64, UInt64) async throws -> [[UInt8]])? =
                    entries
                    ? { start, end in
                        let body = try await Self.fetch(
                            base + "/v1/ledger/entries?start=\(start)&end=\(end)",
                            token: token
                        )
                        return body.utf8.split(separator: 0x0A).map(Array.init)
                    } : nil
                outcome = try await monitor.check(text, entries: reader) { from, to in
                    guard let token else {
                        throw LedgerError(
                            .invalidArgument,
                            "the log grew; give --token-file to fetch the consistency proof"
                        )
                    }
                    let body = try await Self.fetch(
                        base + "/v1/ledger/proofs/consistency?from=\(from)&to=\(to)",
                        token: token
                    )
                    let hashes = try JSONParser().parse(Array(body.utf8))["hashes"]?.arrayValue ?? []
                    return try hashes.map { value throws(LedgerError) in
                        guard let text = value.stringValue, let hash = MerkleHash(hex: text) else {
                            throw LedgerError(.malformedNote, "the consistency proof is not a list of hashes")
                        }
                        return hash
                    }
                }
            } catch {
                let message =
                    (error as? LedgerError)?.message
                    ?? ((error as NSError).userInfo[NSLocalizedDescriptionKey] as? String) ?? "\(error)"
                throw Output.fail("monitor", "\(base): \(message)")
            }
            let now = LedgerTime.format(Date())
            switch outcome {
            case .first(let size): print("\(now) ok: first checkpoint seen, size \(size); kept")
            case .unchanged(let size): print("\(now) ok: size \(size), unchanged")
            case .grew(let from, let to): print("\(now) ok: grew from \(from) to \(to), consistent")
            case .problem(let why):
                print("\(now) PROBLEM: \(why)")
                throw ExitCode(1)
            }
            guard let interval else { return }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    static func fetch(_ address: String, token: String?) async throws -> String {
        guard let url = URL(string: address) else { throw LedgerError(.invalidArgument, "\(address) is not a URL") }
        var request = URLRequest(url: url, timeoutInterval: 30)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            throw LedgerError(
                .io,
                "\(address) answered \(status): \(String(decoding: data.prefix(300), as: UTF8.self))"
            )
        }
        return String(decoding: data, as: UTF8.self)
    }
}
