import Crypto
import Foundation
import TiakiLedger
public import TiakiModel
import Yams

/// A problem in a policy file, with where it is and how to fix it.
public struct PolicyProblem: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public var hint: String?

    public var description: String {
        "\(file):\(line):\(column): \(message)" + (hint.map { " (hint: \($0))" } ?? "")
    }
}

/// A policy set that did not validate: every problem found, not only the first.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public var problems: [PolicyProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// A rule as written: a permit or forbid, its condition, the obligations it brings, and why it exists.
public struct Rule: Sendable {
    public enum Effect: String, Sendable { case permit, forbid }

    public var id: String
    public var effect: Effect
    public var because: String
    public var description: String?
    var condition: ConditionSpec?
    public var obligations: [ObligationSpec]
    public var file: String
    public var line: Int

    /// Whether the rule uses the built-in consent check anywhere.
    var usesConsent: Bool { condition?.usesConsent ?? false }
}

public struct ObligationSpec: Sendable, Hashable {
    public static let kinds: [String: String] = [
        "delete-by-retention": "Delete the information when the consent's retention ends",
        Obligation.privacyOfficerReview: "A privacy officer must review this share",
        "notify-privacy-officer": "Tell the privacy officer about this share",
        "use-only-for-purpose": "Use the information only for the purpose it was shared for",
    ]
    public var kind: String
    public var detail: String?
}

/// What the consent check requires of who agreed.
public struct ConsenterRequirement: Sendable, Hashable {
    /// At least one of these must have agreed (parent, guardian, caregiver, whānau).
    public var anyOf: [String]
    /// From this age, the young person must also have agreed.
    public var youngPersonFromAge: Int?
    public var youngPersonRole: String
}

indirect enum ConditionSpec: Sendable {
    case all([ConditionSpec])
    case any([ConditionSpec])
    case not(ConditionSpec)
    case consent
    case compare(Attribute, Operator, OperandSpec)

    var usesConsent: Bool {
        switch self {
        case .consent: true
        case .all(let c), .any(let c): c.contains { $0.usesConsent }
        case .not(let c): c.usesConsent
        case .compare(let a, _, let o):
            a.isConsentAttribute
                || { if case .attribute(let b) = o { return b.isConsentAttribute } else { return false } }()
        }
    }
}

enum OperandSpec: Sendable, Hashable {
    case code(String)
    case codes([String])
    case bool(Bool)
    case date(Day)
    case number(Double)
    case string(String)
    case strings([String])
    case attribute(Attribute)
}

/// The YAML files of `Policies/`: the vocabulary, the consent check's settings, and the rules.
public struct PolicySet: Sendable {
    public var vocabulary: Vocabulary
    public var consenters: ConsenterRequirement
    /// How long the duties after a share may take (`duties:`; the defaults when no file sets them).
    public var duties: Duties
    public var rules: [Rule]
    /// File name → content, exactly as read.
    public var files: [String: String]
    /// `sha256:` + hex of the canonical JSON of `files`: names the policy set in every decision.
    public var digest: String

    /// Loads and validates every `*.yaml` / `*.yml` file directly in `directory` (not `tests/`).
    public static func load(directory: String) throws -> PolicySet {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PolicyError(problems: [
                PolicyProblem(
                    file: directory,
                    line: 1,
                    column: 1,
                    message: "no policy directory here",
                    hint: "give the directory holding the policy YAML files"
                )
            ])
        }
        let names = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".yaml") || $0.hasSuffix(".yml")
        }.sorted()
        var files: [String: String] = [:]
        for name in names {
            let path = directory + "/" + name
            guard let data = fm.contents(atPath: path) else {
                throw PolicyError(problems: [
                    PolicyProblem(file: path, line: 1, column: 1, message: "cannot read the file")
                ])
            }
            guard data.count <= 1 << 20 else {
                throw PolicyError(problems: [
                    PolicyProblem(
                        file: path,
                        line: 1,
                        column: 1,
                        message: "the file is larger than 1 MiB",
                        hint: "split it"
                    )
                ])
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw PolicyError(problems: [
                    PolicyProblem(file: path, line: 1, column: 1, message: "the file is not UTF-8")
                ])
            }
            files[name] = text
        }
        guard !files.isEmpty else {
            throw PolicyError(problems: [
                PolicyProblem(
                    file: directory,
                    line: 1,
                    column: 1,
                    message: "no .yaml files",
                    hint: "a policy set needs a vocabulary and rules"
                )
            ])
        }
        return try parse(files: files, directory: directory)
    }

    /// Parses and validates a policy set from its files (as recorded in `policy.published`).
    public static func parse(files: [String: String], directory: String = "Policies") throws -> PolicySet {
        var loader = PolicyLoader(directory: directory)
        for name in files.keys.sorted() {
            // Sorted for a stable order of problems; content order within a file is kept.
            loader.load(name: name, text: files[name] ?? "")
        }
        let set = loader.finish(files: files)
        guard loader.problems.isEmpty, let set else { throw PolicyError(problems: loader.problems) }
        return set
    }

    static func digest(of files: [String: String]) -> String {
        let canonical = (try? CanonicalJSON.encode(.object(files.mapValues { .string($0) }))) ?? []
        return "sha256:" + SHA256.hash(data: canonical).map { String(format: "%02x", $0) }.joined()
    }
}
