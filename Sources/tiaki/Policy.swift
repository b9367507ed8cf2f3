import ArgumentParser
import Foundation
import TiakiModel
import TiakiPolicy

struct Policy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and test a policy set.",
        subcommands: [Check.self, Test.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the policy files in DIR (default ./Policies).",
            discussion: """
                Reports every problem with file:line:column and a hint: YAML errors, unknown keys, attributes, codes, \
                operators and roles, type mismatches, duplicate rule ids, and rules that can never match. \
                Exit 0 valid, 1 invalid, 2 when DIR cannot be read.
                """
        )

        @Argument(help: "The policy directory.")
        var directory = "./Policies"

        func run() throws {
            guard FileManager.default.fileExists(atPath: directory) else {
                throw Output.fail("policy check", "no policy directory at \(directory)")
            }
            do {
                let set = try PolicySet.load(directory: directory)
                let permits = set.rules.filter { $0.effect == .permit }.count
                print(
                    "\(directory): valid. \(set.files.count) files, \(set.rules.count) rules (\(permits) permit, \(set.rules.count - permits) forbid)."
                )
                print("digest \(set.digest)")
            } catch let error as PolicyError {
                for problem in error.problems { print(problem) }
                print("\(directory): \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s").")
                throw ExitCode(1)
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the policy tests in DIR/tests (default ./Policies).",
            discussion:
                "Each test sets up a consent state and a request and says what the decision must be. Ends with a line `N passed, N failed`; exit 1 if any failed."
        )

        @Argument(help: "The policy directory.")
        var directory = "./Policies"

        @Flag(help: "Print each decision's reasons too.")
        var verbose = false

        func run() throws {
            let set: PolicySet
            let cases: [PolicyTestCase]
            do {
                set = try PolicySet.load(directory: directory)
                cases = try PolicyTestCase.load(directory: directory + "/tests")
            } catch let error as PolicyError {
                for problem in error.problems { print(problem) }
                throw ExitCode(2)
            }
            var passed = 0
            var failed = 0
            for test in cases {
                let result = test.run(set)
                let place = "\(URL(fileURLWithPath: test.file).lastPathComponent):\(test.line)"
                if result.passed {
                    passed += 1
                    print("ok    \(test.name) (\(place))")
                } else {
                    failed += 1
                    print("FAIL  \(test.name) (\(place))")
                    for f in result.failures { print("        \(f)") }
                }
                if verbose || !result.passed, let d = result.decision {
                    for r in d.reasons { print("        · \(r)") }
                }
            }
            print("\(passed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
