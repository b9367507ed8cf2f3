import Foundation
import Logging
import Testing
import TiakiConsent
import TiakiLedger
import TiakiModel
import TiakiSimulation

@testable import TiakiPolicy

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let policiesPath = repositoryRoot.appendingPathComponent("Policies").path

@Suite("The default policy set")
struct DefaultPolicyTests {
    @Test("loads, and every test in Policies/tests passes")
    func policyTestsPass() throws {
        let set = try PolicySet.load(directory: policiesPath)
        let cases = try PolicyTestCase.load(directory: policiesPath + "/tests")
        #expect(cases.count >= 30)
        for test in cases {
            let result = test.run(set)
            #expect(result.passed, "\(test.name): \(result.failures.joined(separator: "; "))")
        }
    }

    @Test("every rule is exercised by a policy test, both where it applies and where it does not")
    func everyRuleCovered() throws {
        let set = try PolicySet.load(directory: policiesPath)
        let cases = try PolicyTestCase.load(directory: policiesPath + "/tests")
        let decisions = cases.compactMap { $0.run(set).decision }
        for rule in set.rules {
            #expect(decisions.contains { $0.rules.contains(rule.id) }, "no test where \(rule.id) decides")
            #expect(decisions.contains { !$0.rules.contains(rule.id) }, "no test where \(rule.id) does not decide")
        }
        #expect(set.rules.allSatisfy { !$0.because.isEmpty })
    }

    @Test("a policy file larger than 1 MiB is refused with its name and a hint, before it is parsed")
    func fileSizeLimit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-policy-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["consent.yaml", "vocabulary.yaml", "rules.yaml"] {
            try FileManager.default.copyItem(atPath: policiesPath + "/" + name, toPath: directory + "/" + name)
        }
        #expect(throws: Never.self) { try PolicySet.load(directory: directory) }
        let padded =
            try String(contentsOfFile: directory + "/rules.yaml", encoding: .utf8)
            + String(repeating: "# padding\n", count: 110_000)
        try padded.write(toFile: directory + "/rules.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try PolicySet.load(directory: directory)
            Issue.record("a 1.1 MB policy file was loaded")
        } catch let error as PolicyError {
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.file.hasSuffix("rules.yaml") == true)
            #expect(error.problems.first?.message == "the file is larger than 1 MiB")
        }
    }

    @Test(
        "YAML aliases are refused with their place before composing; quoted, commented and block text is not an alias"
    )
    func aliasesRefused() throws {
        let set = try PolicySet.load(directory: policiesPath)
        var files = set.files
        files["rules.yaml"] = "x: &a [1, 2]\nrules: *a\n"
        do {
            _ = try PolicySet.parse(files: files)
            Issue.record("an alias was accepted")
        } catch let error as PolicyError {
            #expect(error.problems.first?.message == "YAML aliases (*name) are not allowed in policy files")
            #expect(error.problems.first?.line == 2)
            #expect(error.problems.first?.column == 8)
        }
        for (text, alias) in [
            ("a: [1, *b]", true), ("a: {k: *b}", true), ("- *b", true), ("? *b\n: 1", true), ("a: b * c", false),
            ("a: '*b'", false), ("a: \"x *b\"", false), ("a: 1 # *b", false), ("a: >-\n  * a bullet\nb: 1", false),
            ("a: |\n  *b\nc: *d", true), ("a: it's *b", false), ("*b : 1", true),
        ] {
            #expect((YAMLAliases.first(in: text) != nil) == alias, "\(text)")
        }
    }

    @Test("the digest names the files exactly")
    func digest() throws {
        let set = try PolicySet.load(directory: policiesPath)
        #expect(set.digest.hasPrefix("sha256:"))
        #expect(try PolicySet.parse(files: set.files).digest == set.digest)
        var changed = set.files
        changed["rules.yaml"] = (changed["rules.yaml"] ?? "") + "\n# a comment\n"
        #expect(try PolicySet.parse(files: changed).digest != set.digest)
    }
}

@Suite("Policy validation")
struct PolicyValidationTests {
    static func files(
        replacing old: String,
        with new: String,
        in file: String = "rules.yaml"
    ) throws -> [String: String] {
        var files = try PolicySet.load(directory: policiesPath).files
        let text = try #require(files[file])
        #expect(text.contains(old), "the test's anchor text is gone from \(file)")
        files[file] = text.replacingOccurrences(of: old, with: new)
        return files
    }

    static let cases: [(String, String, String, String)] = [
        // (what, old, new, expected message part)
        ("YAML error", "  - id: permit-serious-threat", "  - id: [permit-serious-threat", "YAML error"),
        (
            "unknown rule key", "    effect: forbid\n    when:\n      attribute: subject.erased",
            "    effect: forbid\n    whenever: true\n    when:\n      attribute: subject.erased",
            "unknown rule key \"whenever\""
        ),
        (
            "unknown attribute", "attribute: subject.erased", "attribute: subject.erasd",
            "unknown attribute subject.erasd"
        ),
        (
            "unknown code", "contains: health-disability\n        - not:", "contains: health-disabilty\n        - not:",
            "unknown information category code health-disabilty"
        ),
        (
            "operator for another type", "attribute: request.purpose\n          equals: cluster-needs-analysis",
            "attribute: request.purpose\n          before: cluster-needs-analysis",
            "before does not apply to request.purpose"
        ),
        (
            "type mismatch", "attribute: subject.erased\n      equals: true",
            "attribute: subject.erased\n      equals: 12", "is true or false"
        ),
        (
            "duplicate rule id", "id: forbid-erased-subject", "id: permit-serious-threat",
            "rule id permit-serious-threat is used twice"
        ),
        (
            "never matches", "attribute: request.purpose\n          equals: cluster-needs-analysis",
            "attribute: request.purpose\n          equals: cluster-needs-analysis\n        - attribute: request.purpose\n          equals: transition",
            "can never match"
        ),
        ("unknown role", "equals: facilitator", "equals: facilitater", "unknown role facilitater"),
    ]

    @Test("bad policy files are refused with file:line:column and a hint", arguments: cases)
    func refused(what: String, old: String, new: String, expected: String) throws {
        let files = try Self.files(replacing: old, with: new)
        do {
            _ = try PolicySet.parse(files: files)
            Issue.record("\(what) was accepted")
        } catch let error as PolicyError {
            let text = error.description
            #expect(text.contains(expected), "\(what): \(text)")
            #expect(text.contains("Policies/rules.yaml:"), "\(what) has no location: \(text)")
            let location = try #require(error.problems.first)
            #expect(location.line > 1 || what == "YAML error")
        }
    }

    @Test("a hint suggests the nearest attribute")
    func hint() throws {
        let files = try Self.files(replacing: "attribute: subject.erased", with: "attribute: subject.erasd")
        #expect(throws: PolicyError.self) { try PolicySet.parse(files: files) }
        do { _ = try PolicySet.parse(files: files) } catch let e as PolicyError {
            #expect(e.description.contains("did you mean subject.erased?"))
        }
    }
}

/// Services on a fresh data directory with a school, an RTLB service and a child, closed and removed however
/// `body` ends.
func withDecisionFixture(_ body: (TiakiServices, String) async throws -> Void) async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-policy-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let set = try PolicySet.load(directory: policiesPath)
    let services = try await TiakiServices.open(LedgerDirectory(path: path), policy: set, logger: Logger(label: "test"))
    do {
        _ = try await services.organisations.register(.init(id: "school-a", kind: "school", name: "School A"))
        _ = try await services.organisations.register(.init(id: "rtlb-a", kind: "rtlb", name: "RTLB A"))
        let s = try await services.subjects.register(
            SubjectInput(birthMonth: "2016-03"),
            actor: EntryActor(org: "school-a")
        )
        try await body(services, try #require(s.entry.subject))
    } catch {
        await services.close()
        throw error
    }
    await services.close()
}

@Suite("Decisions")
struct DecisionTests {
    func request(_ subject: String, purpose: String = "referral") -> ShareRequest {
        ShareRequest(
            subject: subject,
            share: Share(
                recipient: "rtlb-a",
                purpose: purpose,
                information: ["register-entry"],
                channel: "secure-email",
                storageRegion: "nz"
            ),
            date: "2026-06-01",
            requester: "school-a",
            requesterRole: "member"
        )
    }

    @Test(
        "the policy set is recorded once, every decision names its digest, and the same input gives the same decision"
    )
    func recordedAndDeterministic() async throws {
        try await withDecisionFixture { services, subject in
            let decisions = services.decisions
            let first = try await decisions.decideAndRecord(request(subject), actor: EntryActor(org: "school-a"))
            #expect(first.decision.effect == .deny)
            #expect(first.decision.policy == decisions.policy.digest)
            #expect(services.core.read { $0.currentPolicy } == decisions.policy.digest)
            #expect(services.core.read { $0.counts[.policyPublished] } == 1)
            // Same request, same state (the recorded decision changes no consent) and policy: same decision but
            // basis.
            let again = try decisions.decide(request(subject))
            #expect(
                again.effect == first.decision.effect && again.reasons == first.decision.reasons
                    && again.rules == first.decision.rules
            )
        }
    }

    @Test("opening the services again with the same policy records nothing new")
    func publishedOnce() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-policy-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let set = try PolicySet.load(directory: policiesPath)
        for _ in 0..<2 {
            let services = try await TiakiServices.open(
                LedgerDirectory(path: path),
                policy: set,
                logger: Logger(label: "test")
            )
            let published = services.core.read { $0.counts[.policyPublished] }
            await services.close()
            #expect(published == 1)
        }
    }

    @Test("requests naming unknown subjects, organisations or codes are refused and nothing is appended")
    func badRequests() async throws {
        try await withDecisionFixture { services, subject in
            let decisions = services.decisions
            let before = services.ledger.checkpoint.size
            var r = request("s-unknown")
            #expect(throws: TiakiError(.unknownSubject, "")) { try decisions.decide(r) }
            r = request(subject)
            r.recipient = "nobody"
            #expect(throws: TiakiError(.unknownOrganisation, "")) { try decisions.decide(r) }
            r = request(subject, purpose: "refferal")
            await #expect(throws: TiakiError(.notInVocabulary, "")) {
                try await decisions.decideAndRecord(r, actor: EntryActor(org: "school-a"))
            }
            r = request(subject)
            r.date = "2026-13-01"
            #expect(throws: TiakiError(.invalid, "")) { try decisions.decide(r) }
            #expect(services.ledger.checkpoint.size == before)
        }
    }
}

@Suite("Simulation")
struct SimulationTests {
    @Test("the same seed writes the same ledger, which verifies, and a replay rebuilds the same state")
    func deterministic() async throws {
        let set = try PolicySet.load(directory: policiesPath)
        var configuration = SimulationConfiguration()
        configuration.subjects = 40
        configuration.days = 60
        configuration.seed = 7
        var bundles: [[[UInt8]]] = []
        for _ in 0..<2 {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiaki-sim-\(UUID().uuidString)")
                .path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let summary = try await ClusterSimulation.run(
                directory: LedgerDirectory(path: path),
                policy: set,
                configuration: configuration,
                logger: Logger(label: "test")
            )
            #expect(summary.subjects == 40)
            #expect(summary.permits > 0 && summary.denials > 0 && summary.consents > 0)
            #expect(try LedgerVerifier().verify(path: path).isValid)
            let core = try await LedgerCore.open(
                LedgerDirectory(path: path),
                vocabulary: set.vocabulary,
                logger: Logger(label: "test")
            )
            let entries = try core.ledger.entries(in: 0..<summary.entries)
            let replayed = try ConsentState.replay(core.ledger)
            let same = core.read { $0 == replayed }
            await core.close()
            bundles.append(entries)
            #expect(same)
        }
        #expect(bundles[0] == bundles[1])
    }
}

@Suite("Duties in policy")
struct DutiesPolicyTests {
    @Test("Policies/duties.yaml sets the times, the holidays and what is sensitive")
    func loaded() throws {
        let duties = try PolicySet.load(directory: policiesPath).duties
        #expect(duties.collectionNoticeWorkingDays == 10)
        #expect(duties.withdrawalAcknowledgeDays == 10)
        #expect(duties.breachAssessmentHours == 72 && duties.breachNotificationHours == 72)
        #expect(duties.renewalWindowDays == 30)
        #expect(duties.nonWorkingDays.contains(try #require(Day("2026-12-25"))))
        #expect(duties.sensitiveInformation.contains("health-disability"))
    }

    @Test(
        "bad duties are refused with their place and a hint",
        arguments: [
            ("collection-notice-working-days: 10", "collection-notice-working-days: 0", "from 1 to 60"),
            ("withdrawal-acknowledge-days: 10", "withdrawal-acknowledge-days: ten", "whole number of days"),
            ("breach-assessment-hours: 72", "breach-asessment-hours: 72", "did you mean breach-assessment-hours?"),
            ("    - 2026-12-25", "    - 2026-12-32", "2026-12-32 is not a date"),
            ("    - health-disability", "    - health", "unknown information category code health"),
        ]
    )
    func refused(old: String, new: String, expected: String) throws {
        let files = try PolicyValidationTests.files(replacing: old, with: new, in: "duties.yaml")
        do {
            _ = try PolicySet.parse(files: files)
            Issue.record("\(new) was accepted")
        } catch let error as PolicyError {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(error.description.contains("Policies/duties.yaml:"), "\(error.description)")
        }
    }

    @Test("without a duties file, the defaults hold")
    func defaults() throws {
        var files = try PolicySet.load(directory: policiesPath).files
        files["duties.yaml"] = nil
        let set = try PolicySet.parse(files: files)
        #expect(set.duties == Duties())
    }

    @Test("working days skip weekends and the policy's holidays")
    func workingDays() throws {
        let duties = try PolicySet.load(directory: policiesPath).duties
        // Monday 2 March 2026: ten working days later is Monday 16 March.
        #expect(duties.collectionNoticeDue(sharedOn: try #require(Day("2026-03-02"))).description == "2026-03-16")
        // Wednesday 1 April 2026, across Good Friday and Easter Monday: Friday 17 April.
        #expect(duties.collectionNoticeDue(sharedOn: try #require(Day("2026-04-01"))).description == "2026-04-17")
        // A share on a Saturday counts from the Monday.
        #expect(duties.workingDays(1, after: try #require(Day("2026-03-07"))).description == "2026-03-09")
    }

    @Test("moments: RFC 3339 with offsets, written in UTC; said in New Zealand time, daylight or not")
    func moments() throws {
        let m = try #require(Moment("2026-12-01T09:30:00+13:00"))
        #expect(m.description == "2026-11-30T20:30:00Z")
        #expect(m.plainNZ == "1 December 2026, 9:30 am NZDT")
        #expect(m.nzDay.description == "2026-12-01")
        #expect(try #require(Moment("2026-07-01T00:00Z")).plainNZ == "1 July 2026, 12:00 pm NZST")
        #expect(Moment("2026-07-01T00:00:00.123456Z")?.description == "2026-07-01T00:00:00Z")
        #expect(m.adding(hours: 72).description == "2026-12-03T20:30:00Z")
        for bad in ["2026-12-01", "2026-12-01T25:00:00Z", "2026-12-01T09:30:00", "2026-12-01T09:30:00+1300", "x"] {
            #expect(Moment(bad) == nil, "\(bad)")
        }
    }
}
