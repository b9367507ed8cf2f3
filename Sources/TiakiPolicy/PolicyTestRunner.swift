import Foundation
import TiakiLedger
public import TiakiModel
import Yams

/// Policy tests, as `opa test` and `cedar run-tests` have them: a consent state, a request, and what the decision
/// must be. They live in `Policies/tests/*.yaml`.
public struct PolicyTestCase: Sendable {
    public var name: String
    public var file: String
    public var line: Int
    var organisations: [String: String]
    var subject: SubjectSpec
    var consents: [ConsentSpec]
    var request: RequestSpec
    var expect: Expectation

    struct SubjectSpec: Codable, Sendable {
        var birthMonth: String
        var erased: Bool?
        var refused: Bool?
        enum CodingKeys: String, CodingKey {
            case birthMonth = "birth-month"
            case erased, refused
        }
    }

    struct ConsentSpec: Codable, Sendable {
        var purposes: [String]
        var information: [String]
        var audienceKinds: [String]?
        var audienceOrganisations: [String]?
        var channels: [String]
        var storageRegions: [String]
        var retentionUntil: String
        var consenters: [String]
        var informed: String?
        var withdrawn: String?
        var superseded: Bool?
        enum CodingKeys: String, CodingKey {
            case purposes, information, channels, consenters, informed, withdrawn, superseded
            case audienceKinds = "audience-kinds"
            case audienceOrganisations = "audience-organisations"
            case storageRegions = "storage-regions"
            case retentionUntil = "retention-until"
        }
    }

    struct RequestSpec: Codable, Sendable {
        /// A request with only the fields of `json` set.
        init(from json: [String: JSONValue]) {
            self = (try? JSONValueDecoder().decode(RequestSpec.self, from: .object(json))) ?? RequestSpec(purpose: nil)
        }

        init(
            purpose: String?,
            information: [String]? = nil,
            recipient: String? = nil,
            requester: String? = nil,
            requesterRole: String? = nil,
            channel: String? = nil,
            storageRegion: String? = nil,
            date: String? = nil,
            seriousThreat: Bool? = nil
        ) {
            self.purpose = purpose
            self.information = information
            self.recipient = recipient
            self.requester = requester
            self.requesterRole = requesterRole
            self.channel = channel
            self.storageRegion = storageRegion
            self.date = date
            self.seriousThreat = seriousThreat
        }

        var purpose: String?
        var information: [String]?
        var recipient: String?
        var requester: String?
        var requesterRole: String?
        var channel: String?
        var storageRegion: String?
        var date: String?
        var seriousThreat: Bool?
        enum CodingKeys: String, CodingKey {
            case purpose, information, recipient, requester, channel, date
            case requesterRole = "requester-role"
            case storageRegion = "storage-region"
            case seriousThreat = "serious-threat"
        }

        func merged(over base: RequestSpec) -> RequestSpec {
            RequestSpec(
                purpose: purpose ?? base.purpose,
                information: information ?? base.information,
                recipient: recipient ?? base.recipient,
                requester: requester ?? base.requester,
                requesterRole: requesterRole ?? base.requesterRole,
                channel: channel ?? base.channel,
                storageRegion: storageRegion ?? base.storageRegion,
                date: date ?? base.date,
                seriousThreat: seriousThreat ?? base.seriousThreat
            )
        }
    }

    struct Expectation: Codable, Sendable {
        var effect: String
        var rules: [String]?
        var reasons: [String]?
        var obligations: [String]?
        var consents: Int?
    }

    public struct Result: Sendable {
        public var test: PolicyTestCase
        public var passed: Bool
        public var failures: [String]
        public var decision: DecisionRecord?
    }

    /// Runs the test against `policy`.
    public func run(_ policy: PolicySet) -> Result {
        var state = ConsentState()
        var index: UInt64 = 0
        // Consents are recorded by the organisation that asks, as a school records its own whānau's agreement.
        let requester = EntryActor(org: request.requester ?? "")
        func apply(_ body: any EntryBody, subject: String? = nil) {
            state.apply(
                ConsentEntry(
                    index: index,
                    time: "2026-01-01T00:00:00.000Z",
                    actor: body is ConsentTerms ? requester : .system,
                    subject: subject,
                    body: body
                )
            )
            index += 1
        }
        for (id, kind) in organisations.sorted(by: { $0.key < $1.key }) {
            apply(OrganisationRegistered(id: id, kind: kind, name: id))
        }
        let sid = "s-test"
        apply(
            SubjectRegistered(org: organisations.keys.sorted().first ?? "school", birthMonth: subject.birthMonth),
            subject: sid
        )
        for spec in consents {
            // A test file holds a handful of entries, far below Int.max.
            let consentIndex = Int(clamping: index)
            apply(spec.terms(supersedes: nil), subject: sid)
            if let withdrawn = spec.withdrawn {
                apply(
                    ConsentWithdrawn(consent: consentIndex, date: withdrawn, by: spec.consenters.first ?? "parent"),
                    subject: sid
                )
            }
            if spec.superseded == true {
                // Replaced by a narrower consent that covers only progress reviews of attendance.
                var narrower = spec
                narrower.purposes = ["progress-review"]
                narrower.information = ["attendance"]
                apply(narrower.terms(supersedes: consentIndex), subject: sid)
            }
        }
        if subject.refused == true {
            apply(
                ConsentRefused(
                    purposes: ["referral"],
                    information: ["register-entry"],
                    by: ["parent"],
                    date: "2026-01-01"
                ),
                subject: sid
            )
        }
        if subject.erased == true { apply(SubjectErased(reason: .request, date: "2026-01-15"), subject: sid) }
        state.intern(policy.vocabulary)
        var failures: [String] = []
        let r = request
        let share = ShareRequest(
            subject: sid,
            share: Share(
                recipient: r.recipient ?? "",
                purpose: r.purpose ?? "",
                information: r.information ?? [],
                channel: r.channel ?? "",
                storageRegion: r.storageRegion ?? ""
            ),
            date: r.date ?? "",
            seriousThreat: r.seriousThreat,
            requester: r.requester ?? "",
            requesterRole: r.requesterRole ?? "member"
        )
        let decision: DecisionRecord
        do {
            let engine = try PolicyEngine(policy: policy, codes: state.codes)
            decision = try engine.decide(share, in: state)
        } catch {
            return Result(
                test: self,
                passed: false,
                failures: ["the request could not be decided: \(error)"],
                decision: nil
            )
        }
        if decision.effect.rawValue != expect.effect {
            failures.append("expected \(expect.effect), got \(decision.effect.rawValue)")
        }
        if let rules = expect.rules, rules != decision.rules {
            failures.append(
                "expected rules [\(rules.joined(separator: ", "))], got [\(decision.rules.joined(separator: ", "))]"
            )
        }
        for phrase in expect.reasons ?? [] where !decision.reasons.contains(where: { $0.contains(phrase) }) {
            failures.append("no reason says \"\(phrase)\"")
        }
        if let kinds = expect.obligations, kinds.sorted() != decision.obligations.map(\.kind).sorted() {
            failures.append(
                "expected obligations [\(kinds.joined(separator: ", "))], got [\(decision.obligations.map(\.kind).joined(separator: ", "))]"
            )
        }
        if let n = expect.consents, decision.consents.count != n {
            failures.append("expected \(n) consents relied on, got \(decision.consents.count)")
        }
        return Result(test: self, passed: failures.isEmpty, failures: failures, decision: decision)
    }

    /// Loads every `*.yaml` in `directory`.
    public static func load(directory: String) throws -> [PolicyTestCase] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".yaml") || $0.hasSuffix(".yml")
        }.sorted()
        var cases: [PolicyTestCase] = []
        var problems: [PolicyProblem] = []
        for name in names {
            let path = directory + "/" + name
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                problems.append(PolicyProblem(file: path, line: 1, column: 1, message: "cannot read the file"))
                continue
            }
            do {
                cases += try parse(text, file: path)
            } catch let error as PolicyError {
                problems += error.problems
            }
        }
        guard problems.isEmpty else { throw PolicyError(problems: problems) }
        return cases
    }

    static func parse(_ text: String, file: String) throws -> [PolicyTestCase] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PolicyError(problems: [PolicyProblem(file: file, line: 1, column: 1, message: "YAML error: \(error)")]
            )
        }
        guard let root, case .mapping(let top) = root, let testsNode = top["tests"],
            case .sequence(let tests) = testsNode
        else {
            throw PolicyError(problems: [
                PolicyProblem(
                    file: file,
                    line: 1,
                    column: 1,
                    message: "a test file has organisations, defaults and a tests list"
                )
            ])
        }
        let decoder = JSONValueDecoder()
        func decode<T: Decodable>(_ t: T.Type, _ node: Node?, what: String) throws -> T? {
            guard let node else { return nil }
            do {
                return try decoder.decode(t, from: json(node))
            } catch {
                let (_, message) = JSONValueDecoder.describe(error)
                throw PolicyError(problems: [
                    PolicyProblem(
                        file: file,
                        line: node.mark?.line ?? 1,
                        column: node.mark?.column ?? 1,
                        message: "\(what): \(message)"
                    )
                ])
            }
        }
        let organisations = try decode([String: String].self, top["organisations"], what: "organisations") ?? [:]
        let defaultRequest =
            try decode(RequestSpec.self, top["defaults"]?["request"], what: "defaults.request")
            ?? RequestSpec(from: [:])
        let defaultSubject =
            try decode(SubjectSpec.self, top["defaults"]?["subject"], what: "defaults.subject")
            ?? SubjectSpec(birthMonth: "2016-01")
        var out: [PolicyTestCase] = []
        for test in tests {
            let line = test.mark?.line ?? 1
            guard let name = test["name"]?.string else {
                throw PolicyError(problems: [
                    PolicyProblem(file: file, line: line, column: 1, message: "a test needs a name")
                ])
            }
            guard let expect = try decode(Expectation.self, test["expect"], what: "expect") else {
                throw PolicyError(problems: [
                    PolicyProblem(file: file, line: line, column: 1, message: "test \(name) has no expect")
                ])
            }
            guard ["permit", "deny"].contains(expect.effect) else {
                throw PolicyError(problems: [
                    PolicyProblem(file: file, line: line, column: 1, message: "expect.effect is permit or deny")
                ])
            }
            out.append(
                PolicyTestCase(
                    name: name,
                    file: file,
                    line: line,
                    organisations: organisations,
                    subject: try decode(SubjectSpec.self, test["subject"], what: "subject") ?? defaultSubject,
                    consents: try decode([ConsentSpec].self, test["consents"], what: "consents") ?? [],
                    request: (try decode(RequestSpec.self, test["request"], what: "request") ?? RequestSpec(from: [:]))
                        .merged(over: defaultRequest),
                    expect: expect
                )
            )
        }
        return out
    }

    /// A YAML node as JSON, with YAML's own scalar typing (so `true` is a bool, `14` a number).
    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if let b = node.bool { return .bool(b) }
                if let i = node.int { return .number(Double(i)) }
                if let d = node.float { return .number(d) }
                if node.null != nil { return .null }
            }
            return .string(scalar.string)
        case .mapping(let m):
            var out: [String: JSONValue] = [:]
            // YAML merge keys (`<<: *anchor`) first; the mapping's own keys override them.
            for (k, v) in m where k.string == "<<" {
                let merged = v.array().isEmpty ? [v] : v.array()
                for source in merged {
                    if case .object(let members) = json(source) { out.merge(members) { a, _ in a } }
                }
            }
            for (k, v) in m where k.string != "<<" { out[k.string ?? ""] = json(v) }
            return .object(out)
        case .sequence(let s):
            return .array(s.map(json))
        case .alias:
            return .null
        }
    }
}

extension PolicyTestCase.ConsentSpec {
    func terms(supersedes: Int?) -> ConsentTerms {
        ConsentTerms(
            purposes: purposes,
            information: information,
            audience: .init(organisations: audienceOrganisations ?? [], kinds: audienceKinds ?? []),
            sharing: .init(channels: channels, storageRegions: storageRegions, protection: "test"),
            retention: .init(until: retentionUntil),
            accuracy: .init(contact: "test", method: "test"),
            withdrawal: .init(effect: "test", how: "test"),
            consenters: consenters.map { ConsentTerms.Consenter(role: $0) },
            informed: .init(date: informed ?? "2026-01-10", noticeVersion: "test", language: "en", method: "test"),
            text: "test",
            supersedes: supersedes
        )
    }
}
