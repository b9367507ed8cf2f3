import ArgumentParser
import Foundation
import TiakiLedger

#if canImport(Glibc)
import Glibc
#endif

@main
struct Tiaki: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiaki",
        abstract: "Consent and privacy audit for learning-support information sharing.",
        discussion: """
            Tiaki keeps a signed, append-only ledger (RFC 9162 Merkle tree, C2SP checkpoints) of every consent, \
            decision and disclosure. Auditors check it with `tiaki verify`, using only SHA-256, Ed25519 and \
            published formats.

            Exit codes: 0 success (for verify: the ledger is valid), 1 integrity failure, 2 usage or I/O error.
            """,
        subcommands: [
            Init.self, Serve.self, Org.self, Credential.self, Verify.self, Export.self, Backup.self, Migrate.self,
            Keys.self,
            Policy.self,
            Decide.self,
            Simulate.self, Audit.self, Receipt.self, Notices.self, BreachCommand.self, WitnessCommand.self,
            Monitor.self,
        ]
    )

    /// Runs the command, with exit code 2 for usage errors (ArgumentParser's default is 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if code == .success {
                    print(message)
                } else {
                    Output.error(message)
                }
            }
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// Writing to the terminal.
enum Output {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Reports a usage or I/O problem on one line and exits with code 2.
    static func fail(_ command: String, _ message: String) -> ExitCode {
        error("tiaki \(command): error: \(message)")
        return ExitCode(2)
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    static func grouped(_ n: UInt64) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}

/// Prints a progress line on standard error: redrawn in place on a terminal, every few seconds otherwise.
final class ProgressLine: @unchecked Sendable {
    // Used from one thread only (the command's); @unchecked because the closures that call it are not Sendable.
    private var lastPrinted = Date.distantPast
    private var printedAny = false
    private let label: String
    private let unit: String

    init(_ label: String, unit: String = "entries") {
        self.label = label
        self.unit = unit
    }

    func update(_ done: UInt64, fraction: Double?, suffix: String = "") {
        let now = Date()
        let interval = Output.stderrIsTerminal ? 0.2 : 5
        guard now.timeIntervalSince(lastPrinted) >= interval else { return }
        lastPrinted = now
        var text = "\(label): \(Output.grouped(done)) \(unit)"
        if let fraction { text += String(format: " (%.0f%%)", fraction * 100) }
        if !suffix.isEmpty { text += ", " + suffix }
        if Output.stderrIsTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        } else {
            Output.error(text)
        }
        printedAny = true
    }

    func finish() {
        if printedAny && Output.stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
