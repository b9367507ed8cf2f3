import Foundation
import TiakiLedger
public import TiakiModel

/// Decides share requests under a policy set, and explains every decision.
///
/// Semantics (docs/policies.md, after Cedar's): deny unless a rule permits; any matching forbid overrides every permit; a
/// condition that cannot be evaluated (a missing attribute, such as a consent attribute when no consent covers
/// the request) makes a forbid match and a permit not match.
public final class PolicyEngine: Sendable {
    public let policy: PolicySet
    let codes: CodeTable
    let rules: [CompiledRule]
    let anyOfConsenters: CodeSet
    let youngPersonBit: Int?
    /// Vocabulary code → bit, per dimension: one lookup per request code.
    /// Vocabulary code → bit, one table per dimension (indexed by ``Vocabulary/Dimension/ordinal``): one hash
    /// lookup per request code.
    let vocabularyBits: [[String: Int]]
    /// "Permitted by rule …", built once per rule.
    let permittedSentence: [String: String]
    /// The obligations of each rule that do not depend on the consent, built once.
    let fixedObligations: [String: [Obligation]]
    /// "a parent and the young person", for every combination of the vocabulary's consenters.
    let consenterPhrases: [UInt64: String]

    /// A class, so that walking the rules for each decision retains one reference per rule instead of copying
    /// every field of it.
    final class CompiledRule: Sendable {
        let rule: Rule
        let condition: Condition?

        init(rule: Rule, condition: Condition?) {
            self.rule = rule
            self.condition = condition
        }
    }

    indirect enum Condition: Sendable {
        case all([Condition])
        case any([Condition])
        case not(Condition)
        case consent
        case compare(Attribute, Operator, Operand)
    }

    enum Operand: Sendable {
        case bit(Int)
        case bits(CodeSet)
        case bool(Bool)
        case date(Day)
        case number(Double)
        case string(String)
        case strings(Set<String>)
        case attribute(Attribute)
    }

    /// Compiles `policy` against the consent state's code table (every vocabulary code must have a bit in it:
    /// see ``ConsentRegistry/adopt(_:)`` and ``ConsentState/intern(_:)``).
    public init(policy: PolicySet, codes: CodeTable) throws {
        self.policy = policy
        self.codes = codes
        func bit(_ code: String, _ d: Vocabulary.Dimension) throws -> Int {
            guard let b = codes.bit(code, d) else {
                throw PolicyError(problems: [
                    PolicyProblem(
                        file: "policy",
                        line: 1,
                        column: 1,
                        message: "code \(code) has no bit in the consent state",
                        hint: "adopt the vocabulary first"
                    )
                ])
            }
            return b
        }
        func compile(_ c: ConditionSpec) throws -> Condition {
            switch c {
            case .all(let parts): return .all(try parts.map(compile))
            case .any(let parts): return .any(try parts.map(compile))
            case .not(let inner): return .not(try compile(inner))
            case .consent: return .consent
            case .compare(let a, let op, let operand):
                let compiled: Operand
                switch (operand, a.type) {
                case (.code(let s), .code(let d)), (.code(let s), .codes(let d)): compiled = .bit(try bit(s, d))
                case (.codes(let list), .code(let d)), (.codes(let list), .codes(let d)):
                    var set = CodeSet()
                    for s in list { set.insert(try bit(s, d)) }
                    compiled = .bits(set)
                case (.bool(let b), _): compiled = .bool(b)
                case (.date(let d), _): compiled = .date(d)
                case (.number(let n), _): compiled = .number(n)
                case (.string(let s), _): compiled = .string(s)
                case (.strings(let list), _): compiled = .strings(Set(list))
                case (.attribute(let other), _): compiled = .attribute(other)
                default: compiled = .bool(false)
                }
                return .compare(a, op, compiled)
            }
        }
        rules = try policy.rules.map { CompiledRule(rule: $0, condition: try $0.condition.map(compile)) }
        var bits: [Vocabulary.Dimension: [String: Int]] = [:]
        for d in Vocabulary.Dimension.allCases {
            for code in policy.vocabulary.codes(d) { bits[d, default: [:]][code] = try bit(code, d) }
        }
        vocabularyBits = Vocabulary.Dimension.allCases.map { bits[$0] ?? [:] }
        permittedSentence = Dictionary(
            policy.rules.map { ($0.id, "Permitted by rule \($0.id): \($0.because)") },
            uniquingKeysWith: { a, _ in a }
        )
        fixedObligations = Dictionary(
            policy.rules.map { rule in
                (
                    rule.id,
                    rule.obligations.filter { $0.kind != "delete-by-retention" }.map {
                        Obligation(kind: $0.kind, detail: $0.detail ?? ObligationSpec.kinds[$0.kind] ?? $0.kind)
                    }
                )
            },
            uniquingKeysWith: { a, _ in a }
        )
        let consenterBits = policy.vocabulary.codes(.consenter).compactMap { codes.bit($0, .consenter) }
        var phrases: [UInt64: String] = [:]
        if consenterBits.count <= 10 {
            for combination in 0..<(1 << consenterBits.count) {
                var set = CodeSet()
                for (i, b) in consenterBits.enumerated() where combination & (1 << i) != 0 { set.insert(b) }
                phrases[set.bits] = codes.codes(in: set, .consenter).map { policy.vocabulary.label($0, in: .consenter) }
                    .joined(separator: " and ")
            }
        }
        consenterPhrases = phrases
        var anyOf = CodeSet()
        for role in policy.consenters.anyOf { anyOf.insert(try bit(role, .consenter)) }
        anyOfConsenters = anyOf
        youngPersonBit =
            policy.consenters.youngPersonFromAge == nil ? nil : try bit(policy.consenters.youngPersonRole, .consenter)
    }

    // MARK: Deciding

    /// Decides `request` against `state` (see ``decide(_:in:)-(_,DecisionSnapshot)``).
    public func decide(_ request: ShareRequest, in state: borrowing ConsentState) throws(TiakiError) -> DecisionRecord {
        try decide(request, in: state.snapshot(for: request))
    }

    /// Decides `request` against what the consent state held when `snapshot` was taken. The engine is immutable and
    /// the snapshot a copy, so this holds no lock.
    ///
    /// - Throws: ``TiakiError`` for a request that cannot be decided at all: an unknown subject, organisation or
    ///   code, or a malformed date. Nothing should be shared then, and nothing recorded.
    public func decide(_ request: ShareRequest, in snapshot: DecisionSnapshot) throws(TiakiError) -> DecisionRecord {
        guard snapshot.codesIdentity == codes.identity else {
            throw TiakiError(.internal, "the policy was compiled for another consent state")
        }
        let state = snapshot
        let context = try Context(request: request, snapshot: snapshot, engine: self)
        var evaluator = Evaluator(context: context, engine: self, snapshot: snapshot)
        var forbids: [(CompiledRule, String?)] = []
        var permits: [CompiledRule] = []
        var notApplying: [(CompiledRule, Evaluator.Why?)] = []
        for compiled in rules {
            let (result, why) = compiled.condition.map { evaluator.evaluate($0) } ?? (.yes, nil)
            switch (compiled.rule.effect, result) {
            case (.forbid, .yes): forbids.append((compiled, nil))
            case (.forbid, .error): forbids.append((compiled, why.map(evaluator.explain)))
            case (.permit, .yes): permits.append(compiled)
            case (.permit, _): notApplying.append((compiled, why))
            case (.forbid, .no): break
            }
        }
        let coverage = evaluator.coverage
        var reasons: [String] = []
        let label = { (code: String, d: Vocabulary.Dimension) in self.policy.vocabulary.label(code, in: d) }

        if !forbids.isEmpty {
            for (compiled, error) in forbids {
                var line = "Forbidden by rule \(compiled.rule.id): \(compiled.rule.because)"
                if let error { line += " (It could not be checked — \(error) — so it applies: rules fail closed.)" }
                reasons.append(line)
            }
            if permits.isEmpty { reasons += consentReasons(coverage, context: context, state: state) }
            return DecisionRecord(
                request: request,
                effect: .deny,
                rules: forbids.map(\.0.rule.id),
                consents: [],
                obligations: [],
                reasons: reasons,
                policy: policy.digest,
                basis: state.size
            )
        }
        if !permits.isEmpty {
            var consents: [Int] = []
            var obligations: [Obligation] = []
            for compiled in permits {
                reasons.append(permittedSentence[compiled.rule.id] ?? compiled.rule.id)
                for spec in compiled.rule.obligations where spec.kind == "delete-by-retention" {
                    guard let c = coverage?.covering else { continue }
                    let until = c.retentionUntil.plain
                    obligations.append(
                        Obligation(
                            kind: spec.kind,
                            detail: "Delete it by \(until), when consent \(c.id)'s retention ends.",
                            due: c.retentionUntil.description
                        )
                    )
                }
                for o in fixedObligations[compiled.rule.id] ?? []
                where !obligations.contains(where: { $0.kind == o.kind }) {
                    obligations.append(o)
                }
            }
            if let c = coverage?.covering, permits.contains(where: { $0.rule.usesConsent }) {
                consents.append(c.id)
                let who =
                    consenterPhrases[c.consenters.bits]
                    ?? codes.codes(in: c.consenters, .consenter).map { label($0, .consenter) }.joined(
                        separator: " and "
                    )
                reasons.append(
                    "Relies on consent \(c.id), given on \(c.informed.plain) by \(who), in force until \(c.retentionUntil.plain)."
                )
            }
            return DecisionRecord(
                request: request,
                effect: .permit,
                rules: permits.map(\.rule.id),
                consents: consents,
                obligations: obligations,
                reasons: reasons,
                policy: policy.digest,
                basis: state.size
            )
        }
        reasons.append("Not permitted: no rule allows this share.")
        reasons += consentReasons(coverage ?? evaluator.computeCoverage(), context: context, state: state)
        for (compiled, why) in notApplying where !compiled.rule.usesConsent {
            reasons.append(
                "Rule \(compiled.rule.id) does not apply: \(why.map(evaluator.explain) ?? "its condition does not hold")."
            )
        }
        return DecisionRecord(
            request: request,
            effect: .deny,
            rules: [],
            consents: [],
            obligations: [],
            reasons: reasons,
            policy: policy.digest,
            basis: state.size
        )
    }

    /// Why each of the subject's consents does not cover the request, in plain words.
    func consentReasons(_ coverage: Coverage?, context: Context, state: DecisionSnapshot) -> [String] {
        guard let coverage else { return [] }
        if coverage.candidates == 0 {
            let refused = context.subject.refusals.isEmpty ? "" : " The whānau declined to consent."
            return ["No consent is recorded for this child.\(refused)"]
        }
        return coverage.failures.map {
            "Consent \($0.id) (given on \($0.informed.plain)) does not cover this share: \($0.why.joined(separator: "; "))."
        }
    }

    // MARK: Coverage

    struct Coverage {
        var covering: ConsentState.Consent?
        var failures: [(id: Int, informed: Day, why: [String])] = []
        var candidates = 0
    }

    /// The request as bits and values.
    struct Context {
        let request: ShareRequest
        let subject: ConsentState.Subject
        let recipient: ConsentState.Organisation
        let requester: ConsentState.Organisation
        let date: Day
        let age: Int?
        let purpose: Int
        let information: CodeSet
        let channel: Int
        let region: Int
        let recipientKind: Int
        let requesterKind: Int

        init(request r: ShareRequest, snapshot: DecisionSnapshot, engine: PolicyEngine) throws(TiakiError) {
            let v = engine.policy.vocabulary
            func code(_ s: String, _ d: Vocabulary.Dimension, _ field: String) throws(TiakiError) -> Int {
                guard let b = engine.vocabularyBits[d.ordinal][s] else {
                    let hint = nearest(s, in: v.codes(d)).map { " Did you mean \($0)?" } ?? ""
                    throw TiakiError(
                        .notInVocabulary,
                        "\(s) is not \(d.withArticle) in the policy vocabulary.\(hint)",
                        field: field
                    )
                }
                return b
            }
            guard let subject = snapshot.subject, subject.id == r.subject else {
                throw TiakiError(.unknownSubject, "no subject \(r.subject)", field: "subject")
            }
            guard let recipient = snapshot.recipient, recipient.id == r.recipient else {
                throw TiakiError(
                    .unknownOrganisation,
                    "recipient \(r.recipient) is not a registered organisation",
                    field: "recipient"
                )
            }
            guard let requester = snapshot.requester, requester.id == r.requester else {
                throw TiakiError(
                    .unknownOrganisation,
                    "requester \(r.requester) is not a registered organisation",
                    field: "requester"
                )
            }
            guard let date = Day(r.date) else { throw TiakiError(.invalid, "date must be YYYY-MM-DD", field: "date") }
            guard Role(rawValue: r.requesterRole) != nil else {
                throw TiakiError(.invalid, "requesterRole \(r.requesterRole) is not a role", field: "requesterRole")
            }
            guard !r.information.isEmpty else {
                throw TiakiError(.invalid, "say what information would be shared", field: "information")
            }
            var information = CodeSet()
            for (i, c) in r.information.enumerated() {
                information.insert(try code(c, .information, "information[\(i)]"))
            }
            self.request = r
            self.subject = subject
            self.recipient = recipient
            self.requester = requester
            self.date = date
            self.age = subject.born.map { date.age(bornInYear: $0.year, month: $0.month) }
            self.purpose = try code(r.purpose, .purpose, "purpose")
            self.information = information
            self.channel = try code(r.channel, .channel, "channel")
            self.region = try code(r.storageRegion, .storageRegion, "storageRegion")
            self.recipientKind = try code(recipient.kind, .organisationKind, "recipient")
            self.requesterKind = try code(requester.kind, .organisationKind, "requester")
        }
    }

    enum Tri { case yes, no, error }

    struct Evaluator {
        let context: Context
        let engine: PolicyEngine
        let consents: [ConsentState.Consent]
        let codes: CodeTable
        var coverage: Coverage?

        init(context: Context, engine: PolicyEngine, snapshot: DecisionSnapshot) {
            self.context = context
            self.engine = engine
            self.consents = snapshot.consents
            // The same bits as the state's table (checked by identity in decide).
            self.codes = engine.codes
        }

        mutating func computeCoverage() -> Coverage {
            if let coverage { return coverage }
            var result = Coverage()
            let c = context
            let v = engine.policy.vocabulary
            func names(_ set: CodeSet, _ d: Vocabulary.Dimension) -> String {
                codes.codes(in: set, d).map { v.label($0, in: d) }.joined(separator: ", ")
            }
            // Newest first: a later consent is the one a school would rely on.
            for consent in consents.reversed() {
                result.candidates += 1
                var why: [String] = []
                if c.subject.erased != nil { why.append("the child's personal details were erased") }
                if let w = consent.withdrawn { why.append("it was withdrawn on \(w.date.plain)") }
                if let s = consent.supersededBy { why.append("it was replaced by consent \(s)") }
                if c.date > consent.retentionUntil {
                    why.append("its retention ended on \(consent.retentionUntil.plain)")
                }
                if c.date < consent.informed { why.append("it was given later, on \(consent.informed.plain)") }
                if !consent.purposes.contains(c.purpose) {
                    why.append(
                        "it covers the purposes \(names(consent.purposes, .purpose)) — not \(v.label(c.request.purpose, in: .purpose))"
                    )
                }
                let missing = CodeSet(bits: c.information.bits & ~consent.information.bits)
                if !missing.isEmpty {
                    why.append(
                        "it covers \(names(consent.information, .information)) — not \(names(missing, .information))"
                    )
                }
                if !(consent.audienceOrganisations.contains(c.recipient.id)
                    || consent.audienceKinds.contains(c.recipientKind))
                {
                    var audience = consent.audienceOrganisations
                    if !consent.audienceKinds.isEmpty {
                        audience.append(names(consent.audienceKinds, .organisationKind))
                    }
                    why.append(
                        "its audience is \(audience.joined(separator: ", ")) — not \(c.recipient.name) (\(v.label(c.recipient.kind, in: .organisationKind)))"
                    )
                }
                if !consent.channels.contains(c.channel) {
                    why.append(
                        "it allows sharing by \(names(consent.channels, .channel)) — not \(v.label(c.request.channel, in: .channel))"
                    )
                }
                if !consent.storageRegions.contains(c.region) {
                    why.append(
                        "it allows storage in \(names(consent.storageRegions, .storageRegion)) — not \(v.label(c.request.storageRegion, in: .storageRegion))"
                    )
                }
                if !consent.consenters.intersects(engine.anyOfConsenters) {
                    let who = codes.codes(in: engine.anyOfConsenters, .consenter).map { v.label($0, in: .consenter) }
                    why.append("it was not given by \(who.dropLast().joined(separator: ", ")) or \(who.last ?? "")")
                }
                if let from = engine.policy.consenters.youngPersonFromAge, let yp = engine.youngPersonBit {
                    if let age = c.age {
                        if age >= from && !consent.consenters.contains(yp) {
                            why.append("the young person is \(from) or older and must agree too, but did not")
                        }
                    } else {
                        why.append(
                            "the child's age is not known, so whether the young person must agree cannot be checked"
                        )
                    }
                }
                if why.isEmpty {
                    result.covering = consent
                    result.failures = []
                    break
                }
                result.failures.append((consent.id, consent.informed, why))
            }
            coverage = result
            return result
        }

        func value(_ a: Attribute) -> Value? {
            let c = context
            switch a {
            case .requestPurpose: return .bit(c.purpose)
            case .requestInformation: return .bits(c.information)
            case .requestChannel: return .bit(c.channel)
            case .requestStorageRegion: return .bit(c.region)
            case .requestSeriousThreat: return .bool(c.request.seriousThreat ?? false)
            case .requestDate: return .date(c.date)
            case .recipientID: return .string(c.recipient.id)
            case .recipientKind: return .bit(c.recipientKind)
            case .requesterID: return .string(c.requester.id)
            case .requesterKind: return .bit(c.requesterKind)
            case .requesterRole: return .string(c.request.requesterRole)
            case .subjectAge: return c.age.map { .number(Double($0)) }
            case .subjectOrganisation: return .string(c.subject.org)
            case .subjectErased: return .bool(c.subject.erased != nil)
            default:
                guard let consent = coverage?.covering else { return nil }
                switch a {
                case .consentPurposes: return .bits(consent.purposes)
                case .consentInformation: return .bits(consent.information)
                case .consentChannels: return .bits(consent.channels)
                case .consentStorageRegions: return .bits(consent.storageRegions)
                case .consentConsenters: return .bits(consent.consenters)
                case .consentRetentionUntil: return .date(consent.retentionUntil)
                case .consentInformed: return .date(consent.informed)
                default: return nil
                }
            }
        }

        enum Value {
            case bit(Int)
            case bits(CodeSet)
            case bool(Bool)
            case date(Day)
            case number(Double)
            case string(String)
        }

        /// Why a condition did not hold or could not be evaluated; formatted only when a decision needs the words.
        enum Why {
            case noConsent
            case negated(Condition)
            case failed(Condition)
            case unknown(Attribute)
            case mismatch(Attribute, Operator)
        }

        func explain(_ why: Why) -> String {
            switch why {
            case .noConsent: "no current consent covers this share"
            case .negated(let c): "it is not the case that \(describe(c))"
            case .failed(let c): "it is not the case that \(describe(c))"
            case .unknown(let a): "\(a.phrase) is not known, as no consent covers the share"
            case .mismatch(let a, let op): "\(a.rawValue) cannot be compared with \(op.rawValue) here"
            }
        }

        /// The result, and for no or error, why.
        mutating func evaluate(_ condition: Condition) -> (Tri, Why?) {
            switch condition {
            case .consent:
                let coverage = computeCoverage()
                return coverage.covering != nil ? (.yes, nil) : (.no, .noConsent)
            case .all(let parts):
                var error: Why?
                for p in parts {
                    let (r, why) = evaluate(p)
                    if r == .no { return (.no, why) }
                    if r == .error && error == nil { error = why }
                }
                return error.map { (.error, $0) } ?? (.yes, nil)
            case .any(let parts):
                var error: Why?
                var lastNo: Why?
                for p in parts {
                    let (r, why) = evaluate(p)
                    if r == .yes { return (.yes, nil) }
                    if r == .error && error == nil { error = why }
                    if r == .no { lastNo = why }
                }
                return error.map { (.error, $0) } ?? (.no, lastNo)
            case .not(let inner):
                let (r, why) = evaluate(inner)
                switch r {
                case .yes: return (.no, .negated(inner))
                case .no: return (.yes, nil)
                case .error: return (.error, why)
                }
            case .compare(let a, let op, let operand):
                if a.isConsentAttribute
                    || { if case .attribute(let b) = operand { return b.isConsentAttribute } else { return false } }()
                {
                    _ = computeCoverage()
                }
                guard let left = value(a) else {
                    if op == .exists, case .bool(let b) = operand {
                        return b ? (.no, .failed(condition)) : (.yes, nil)
                    }
                    return (.error, .unknown(a))
                }
                if op == .exists, case .bool(let b) = operand { return b ? (.yes, nil) : (.no, .failed(condition)) }
                let right: Value
                switch operand {
                case .attribute(let b):
                    guard let v = value(b) else {
                        return (.error, .unknown(b))
                    }
                    right = v
                case .bit(let x): right = .bit(x)
                case .bits(let x): right = .bits(x)
                case .bool(let x): right = .bool(x)
                case .date(let x): right = .date(x)
                case .number(let x): right = .number(x)
                case .string(let x): right = .string(x)
                case .strings(let set):
                    guard case .string(let s) = left else { return (.error, .mismatch(a, op)) }
                    return set.contains(s) ? (.yes, nil) : (.no, .failed(condition))
                }
                let holds: Bool
                switch (left, op, right) {
                case (.bit(let x), .equals, .bit(let y)): holds = x == y
                case (.bit(let x), .in, .bits(let s)): holds = s.contains(x)
                case (.bits(let s), .contains, .bit(let x)): holds = s.contains(x)
                case (.bits(let s), .containsAny, .bits(let t)): holds = s.intersects(t)
                case (.bits(let s), .subsetOf, .bits(let t)): holds = s.isSubset(of: t)
                case (.bool(let x), .equals, .bool(let y)): holds = x == y
                case (.date(let x), .before, .date(let y)): holds = x < y
                case (.date(let x), .after, .date(let y)): holds = x > y
                case (.date(let x), .equals, .date(let y)): holds = x == y
                case (.number(let x), .equals, .number(let y)): holds = x == y
                case (.number(let x), .atLeast, .number(let y)): holds = x >= y
                case (.number(let x), .atMost, .number(let y)): holds = x <= y
                case (.string(let x), .equals, .string(let y)): holds = x == y
                default: return (.error, .mismatch(a, op))
                }
                return holds ? (.yes, nil) : (.no, .failed(condition))
            }
        }

        func describe(_ c: Condition) -> String {
            let v = engine.policy.vocabulary
            switch c {
            case .consent: return "a current consent covers the share"
            case .not(let inner): return "not (\(describe(inner)))"
            case .all(let parts): return parts.map(describe).joined(separator: " and ")
            case .any(let parts): return parts.map(describe).joined(separator: " or ")
            case .compare(let a, let op, let operand):
                let d: Vocabulary.Dimension? = {
                    switch a.type {
                    case .code(let d), .codes(let d): return d
                    default: return nil
                    }
                }()
                let right: String = {
                    switch operand {
                    case .bit(let b): return d.map { v.label(codes.code(b, $0), in: $0) } ?? "\(b)"
                    case .bits(let s):
                        return d.map { dd in codes.codes(in: s, dd).map { v.label($0, in: dd) }.joined(separator: ", ")
                        } ?? ""
                    case .bool(let b): return b ? "true" : "false"
                    case .date(let day): return day.plain
                    case .number(let n): return n.rounded() == n ? String(Int(n)) : String(n)
                    case .string(let s): return s
                    case .strings(let s): return s.sorted().joined(separator: ", ")
                    case .attribute(let b): return b.phrase
                    }
                }()
                switch (a.type, op) {
                case (.bool, .equals): return right == "true" ? a.phrase : "not: \(a.phrase)"
                default:
                    let words: String =
                        switch op {
                        case .equals: "is"
                        case .in: "is one of"
                        case .contains: "include"
                        case .containsAny: "include any of"
                        case .subsetOf: "are all among"
                        case .before: "is before"
                        case .after: "is after"
                        case .atLeast: "is at least"
                        case .atMost: "is at most"
                        case .exists: "is known:"
                        }
                    return "\(a.phrase) \(words) \(right)"
                }
            }
        }
    }
}
