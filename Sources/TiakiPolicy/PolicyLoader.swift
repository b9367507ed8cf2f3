import Foundation
import TiakiLedger
import TiakiModel
import Yams

/// Walks the YAML nodes, collecting problems with positions.
struct PolicyLoader {
    let directory: String
    var problems: [PolicyProblem] = []
    var terms: [Vocabulary.Dimension: [(code: String, label: String)]] = [:]
    var translations: [String: [Vocabulary.Dimension: [String: String]]] = [:]
    var consenters: ConsenterRequirement?
    var duties: Duties?
    var rules: [Rule] = []
    /// Rules are checked against the vocabulary after every file is read (the vocabulary may come later).
    var pendingCodes: [(file: String, mark: Mark?, code: String, dimension: Vocabulary.Dimension)] = []
    var currentFile = ""

    init(directory: String) { self.directory = directory }

    mutating func problem(_ mark: Mark?, _ message: String, hint: String? = nil) {
        problems.append(
            PolicyProblem(
                file: directory + "/" + currentFile,
                line: mark?.line ?? 1,
                column: mark?.column ?? 1,
                message: message,
                hint: hint
            )
        )
    }

    mutating func load(name: String, text: String) {
        currentFile = name
        if let at = YAMLAliases.first(in: text) {
            problems.append(
                PolicyProblem(
                    file: directory + "/" + name,
                    line: at.line,
                    column: at.column,
                    message: "YAML aliases (*name) are not allowed in policy files",
                    hint: "write the value out in full"
                )
            )
            return
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            problems.append(Self.yamlProblem(error, file: directory + "/" + name))
            return
        } catch {
            problem(nil, "YAML error: \(error)")
            return
        }
        guard let root else { return }
        guard case .mapping(let top) = root else {
            problem(
                root.mark,
                "a policy file is a mapping with vocabulary, consent, duties and/or rules",
                hint: "start the file with one of those keys"
            )
            return
        }
        for (key, value) in checkedPairs(
            top,
            allowed: ["vocabulary", "consent", "duties", "rules"],
            what: "top-level key"
        ) {
            switch key {
            case "vocabulary": loadVocabulary(value)
            case "consent": loadConsent(value)
            case "duties": loadDuties(value)
            case "rules": loadRules(value)
            default: break
            }
        }
    }

    static func yamlProblem(_ error: YamlError, file: String) -> PolicyProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return PolicyProblem(
                file: file,
                line: mark.line,
                column: mark.column,
                message: "YAML error: \(problem)",
                hint: "check indentation and quoting near here"
            )
        case .composer(_, let problem, let mark, _):
            return PolicyProblem(file: file, line: mark.line, column: mark.column, message: "YAML error: \(problem)")
        default:
            return PolicyProblem(file: file, line: 1, column: 1, message: "YAML error: \(error)")
        }
    }

    /// The pairs of a mapping with string keys, reporting unknown and duplicate keys.
    mutating func checkedPairs(_ mapping: Node.Mapping, allowed: [String], what: String) -> [(String, Node)] {
        var seen: Set<String> = []
        var out: [(String, Node)] = []
        for (k, v) in mapping {
            guard let key = k.string else {
                problem(k.mark, "\(what) must be text")
                continue
            }
            guard allowed.contains(key) else {
                let hint =
                    nearest(key, in: allowed).map { "did you mean \($0)?" }
                    ?? "expected one of \(allowed.joined(separator: ", "))"
                problem(k.mark, "unknown \(what) \"\(key)\"", hint: hint)
                continue
            }
            guard seen.insert(key).inserted else {
                problem(k.mark, "\(what) \"\(key)\" appears twice")
                continue
            }
            out.append((key, v))
        }
        return out
    }

    // MARK: Vocabulary

    mutating func loadVocabulary(_ node: Node) {
        guard case .mapping(let m) = node else {
            problem(node.mark, "vocabulary is a mapping from dimension to codes")
            return
        }
        for (key, value) in checkedPairs(
            m,
            allowed: Vocabulary.Dimension.allCases.map(\.rawValue),
            what: "vocabulary dimension"
        ) {
            // checkedPairs only returns allowed keys.
            guard let dimension = Vocabulary.Dimension(rawValue: key) else { continue }
            guard case .mapping(let codes) = value else {
                problem(value.mark, "\(key) is a mapping from code to its plain-language label")
                continue
            }
            if terms[dimension] != nil { problem(value.mark, "vocabulary \(key) is defined in more than one place") }
            var list: [(code: String, label: String)] = []
            for (c, l) in codes {
                guard let code = c.string, Self.isCode(code) else {
                    problem(
                        c.mark,
                        "a code is lower-case letters, digits and '-'",
                        hint: "e.g. learning-support-planning"
                    )
                    continue
                }
                // A label is the English words, or a mapping of language to words: `en` (required) and `mi`.
                var label = l.string
                if case .mapping(let languages) = l {
                    for (language, words) in checkedPairs(languages, allowed: ["en", "mi"], what: "label language") {
                        guard let text = words.string, !text.isEmpty else {
                            problem(words.mark, "code \(code)'s \(language) label is empty")
                            continue
                        }
                        if language == "en" {
                            label = text
                        } else {
                            translations[language, default: [:]][dimension, default: [:]][code] = text
                        }
                    }
                }
                guard let label, !label.isEmpty else {
                    problem(l.mark, "code \(code) needs a plain-language label (a string, or en: and mi:)")
                    continue
                }
                if list.contains(where: { $0.code == code }) { problem(c.mark, "code \(code) appears twice") }
                list.append((code, label))
            }
            guard list.count <= 64 else {
                problem(value.mark, "at most 64 codes per dimension")
                continue
            }
            terms[dimension] = list
        }
    }

    static func isCode(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    // MARK: Consent settings

    mutating func loadConsent(_ node: Node) {
        guard case .mapping(let m) = node else {
            problem(node.mark, "consent is a mapping with consenters")
            return
        }
        var requirement = ConsenterRequirement(anyOf: [], youngPersonFromAge: nil, youngPersonRole: "young-person")
        for (key, value) in checkedPairs(
            m,
            allowed: ["any-of", "young-person-from-age", "young-person-role"],
            what: "consent setting"
        ) {
            switch key {
            case "any-of":
                let list = stringList(value, what: "any-of")
                for (i, code) in list.enumerated() {
                    pendingCodes.append((currentFile, value.array().dropFirst(i).first?.mark, code, .consenter))
                }
                requirement.anyOf = list
            case "young-person-from-age":
                guard let age = value.int, age >= 0, age <= 25 else {
                    problem(value.mark, "young-person-from-age is a whole number of years", hint: "e.g. 14")
                    continue
                }
                requirement.youngPersonFromAge = age
            case "young-person-role":
                guard let role = value.string else {
                    problem(value.mark, "young-person-role is a consenter code")
                    continue
                }
                pendingCodes.append((currentFile, value.mark, role, .consenter))
                requirement.youngPersonRole = role
            default: break
            }
        }
        if requirement.anyOf.isEmpty {
            problem(node.mark, "consent needs any-of: the consenters of whom at least one must agree")
        }
        consenters = requirement
    }

    // MARK: Duties after a share

    mutating func loadDuties(_ node: Node) {
        guard case .mapping(let m) = node else {
            problem(
                node.mark,
                "duties is a mapping from a duty to its time",
                hint: "e.g. collection-notice-working-days: 10"
            )
            return
        }
        if duties != nil { problem(node.mark, "duties are set in two places; keep one") }
        var d = Duties()
        let numbers: [(key: String, unit: String, range: ClosedRange<Int>, set: (inout Duties, Int) -> Void)] = [
            ("collection-notice-working-days", "working days", 1...60, { $0.collectionNoticeWorkingDays = $1 }),
            ("withdrawal-acknowledge-days", "days", 1...90, { $0.withdrawalAcknowledgeDays = $1 }),
            ("breach-assessment-hours", "hours", 1...720, { $0.breachAssessmentHours = $1 }),
            ("breach-notification-hours", "hours", 1...720, { $0.breachNotificationHours = $1 }),
            ("renewal-window-days", "days", 1...365, { $0.renewalWindowDays = $1 }),
        ]
        for (key, value) in checkedPairs(
            m,
            allowed: numbers.map(\.key) + ["non-working-days", "sensitive-information"],
            what: "duty"
        ) {
            if key == "sensitive-information" {
                let list = stringList(value, what: "sensitive-information")
                for (i, code) in list.enumerated() {
                    pendingCodes.append((currentFile, value.array().dropFirst(i).first?.mark, code, .information))
                }
                d.sensitiveInformation = list
                continue
            }
            if key == "non-working-days" {
                for (i, text) in stringList(value, what: "non-working-days").enumerated() {
                    guard let day = Day(text) else {
                        problem(
                            value.array().dropFirst(i).first?.mark ?? value.mark,
                            "\(text) is not a date",
                            hint: "write dates as YYYY-MM-DD"
                        )
                        continue
                    }
                    d.nonWorkingDays.insert(day)
                }
                continue
            }
            guard let spec = numbers.first(where: { $0.key == key }) else { continue }
            guard case .scalar = value, let n = value.int, spec.range.contains(n) else {
                problem(
                    value.mark,
                    "\(key) is a whole number of \(spec.unit) from \(spec.range.lowerBound) to \(spec.range.upperBound)"
                )
                continue
            }
            spec.set(&d, n)
        }
        duties = d
    }

    mutating func stringList(_ node: Node, what: String) -> [String] {
        if let s = node.string, case .scalar = node { return [s] }
        guard case .sequence(let seq) = node else {
            problem(node.mark, "\(what) is a list")
            return []
        }
        var out: [String] = []
        for item in seq {
            guard case .scalar = item, let s = item.string else {
                problem(item.mark, "\(what) holds text values")
                continue
            }
            out.append(s)
        }
        return out
    }

    // MARK: Rules

    mutating func loadRules(_ node: Node) {
        guard case .sequence(let seq) = node else {
            problem(node.mark, "rules is a list of rules")
            return
        }
        for item in seq {
            guard case .mapping(let m) = item else {
                problem(item.mark, "a rule is a mapping with id, effect, when and because")
                continue
            }
            var id: String?
            var effect: Rule.Effect?
            var because: String?
            var description: String?
            var condition: ConditionSpec?
            var hasWhen = false
            var obligations: [ObligationSpec] = []
            for (key, value) in checkedPairs(
                m,
                allowed: ["id", "effect", "when", "because", "description", "obligations"],
                what: "rule key"
            ) {
                switch key {
                case "id":
                    guard let s = value.string, Self.isCode(s) else {
                        problem(value.mark, "a rule id is lower-case letters, digits and '-'")
                        continue
                    }
                    if rules.contains(where: { $0.id == s }) {
                        problem(value.mark, "rule id \(s) is used twice", hint: "give each rule its own id")
                    }
                    id = s
                case "effect":
                    guard let s = value.string, let e = Rule.Effect(rawValue: s) else {
                        problem(value.mark, "effect is permit or forbid")
                        continue
                    }
                    effect = e
                case "because":
                    guard let s = value.string, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
                        problem(value.mark, "because says where the rule comes from, in words")
                        continue
                    }
                    because = s
                case "description": description = value.string
                case "when":
                    hasWhen = true
                    condition = parseCondition(value)
                case "obligations":
                    obligations = parseObligations(value)
                default: break
                }
            }
            if id == nil { problem(item.mark, "the rule has no id") }
            if effect == nil { problem(item.mark, "the rule has no effect", hint: "effect: permit or effect: forbid") }
            if because == nil {
                problem(
                    item.mark,
                    "the rule has no because",
                    hint: "cite the Privacy Act principle or guidance it comes from"
                )
            }
            if effect == .permit && !hasWhen {
                problem(item.mark, "a permit rule without when would permit every share", hint: "add when: consent")
            }
            if let c = condition, let why = Self.neverMatches(c) {
                problem(item.mark, "rule \(id ?? "?") can never match: \(why)", hint: "remove it or fix its condition")
            }
            if let id, let effect, let because {
                rules.append(
                    Rule(
                        id: id,
                        effect: effect,
                        because: because,
                        description: description,
                        condition: condition,
                        obligations: obligations,
                        file: currentFile,
                        line: item.mark?.line ?? 1
                    )
                )
            }
        }
    }

    mutating func parseObligations(_ node: Node) -> [ObligationSpec] {
        guard case .sequence(let seq) = node else {
            problem(node.mark, "obligations is a list")
            return []
        }
        var out: [ObligationSpec] = []
        for item in seq {
            if let kind = item.string, case .scalar = item {
                guard ObligationSpec.kinds[kind] != nil else {
                    problem(
                        item.mark,
                        "unknown obligation \(kind)",
                        hint: "one of \(ObligationSpec.kinds.keys.sorted().joined(separator: ", "))"
                    )
                    continue
                }
                out.append(ObligationSpec(kind: kind, detail: nil))
            } else if case .mapping(let m) = item {
                var kind: String?
                var detail: String?
                for (k, v) in checkedPairs(m, allowed: ["kind", "detail"], what: "obligation key") {
                    if k == "kind" { kind = v.string } else { detail = v.string }
                }
                guard let kind, ObligationSpec.kinds[kind] != nil else {
                    problem(
                        item.mark,
                        "unknown obligation kind",
                        hint: "one of \(ObligationSpec.kinds.keys.sorted().joined(separator: ", "))"
                    )
                    continue
                }
                out.append(ObligationSpec(kind: kind, detail: detail))
            } else {
                problem(item.mark, "an obligation is a kind, or a mapping with kind and detail")
            }
        }
        return out
    }

    mutating func parseCondition(_ node: Node) -> ConditionSpec? {
        if case .scalar = node, node.string == "consent" { return .consent }
        guard case .mapping(let m) = node else {
            problem(
                node.mark,
                "a condition is consent, or a mapping with all, any, not, consent or attribute",
                hint: "e.g. { attribute: request.purpose, equals: transition }"
            )
            return nil
        }
        let keys = m.keys.compactMap(\.string)
        if keys.contains("attribute") { return parseComparison(m, node) }
        let pairs = checkedPairs(m, allowed: ["all", "any", "not", "consent"], what: "condition key")
        guard pairs.count == 1, let (key, value) = pairs.first else {
            if pairs.count > 1 {
                problem(
                    node.mark,
                    "a condition has one of all, any, not or consent",
                    hint: "wrap several in all: [...]"
                )
            }
            return nil
        }
        switch key {
        case "all", "any":
            guard case .sequence(let seq) = value else {
                problem(value.mark, "\(key) holds a list of conditions")
                return nil
            }
            if seq.isEmpty {
                problem(
                    value.mark,
                    "\(key) with no conditions",
                    hint: key == "any" ? "it can never match" : "leave when out instead"
                )
            }
            let parts = seq.compactMap { parseCondition($0) }
            guard parts.count == seq.count else { return nil }
            return key == "all" ? .all(parts) : .any(parts)
        case "not":
            return parseCondition(value).map { .not($0) }
        case "consent":
            if case .mapping(let inner) = value, inner.count > 0 {
                problem(
                    value.mark,
                    "the consent check takes no options here",
                    hint: "its consenter rules are set under the top-level consent key"
                )
            }
            return .consent
        default:
            return nil
        }
    }

    mutating func parseComparison(_ m: Node.Mapping, _ node: Node) -> ConditionSpec? {
        let allowed = ["attribute"] + Operator.allCases.map(\.rawValue)
        let pairs = checkedPairs(m, allowed: allowed, what: "comparison key")
        guard let attrNode = pairs.first(where: { $0.0 == "attribute" })?.1, let name = attrNode.string else {
            problem(node.mark, "a comparison names an attribute")
            return nil
        }
        guard let attribute = Attribute(rawValue: name) else {
            let hint =
                nearest(name, in: Attribute.allCases.map(\.rawValue)).map { "did you mean \($0)?" }
                ?? "attributes: \(Attribute.allCases.map(\.rawValue).joined(separator: ", "))"
            problem(attrNode.mark, "unknown attribute \(name)", hint: hint)
            return nil
        }
        let ops = pairs.filter { $0.0 != "attribute" }
        guard ops.count == 1, let (opName, valueNode) = ops.first, let op = Operator(rawValue: opName) else {
            problem(
                node.mark,
                "a comparison has exactly one operator",
                hint: "one of \(attribute.type.operators.map(\.rawValue).joined(separator: ", "))"
            )
            return nil
        }
        guard attribute.type.operators.contains(op) else {
            problem(
                node.mark,
                "\(op.rawValue) does not apply to \(attribute.rawValue), which is \(attribute.type)",
                hint: "use one of \(attribute.type.operators.map(\.rawValue).joined(separator: ", "))"
            )
            return nil
        }
        guard let operand = parseOperand(valueNode, attribute: attribute, op: op) else { return nil }
        return .compare(attribute, op, operand)
    }

    mutating func parseOperand(_ node: Node, attribute: Attribute, op: Operator) -> OperandSpec? {
        if case .mapping(let m) = node {
            // { attribute: other.attribute }: compare with another attribute of the same kind.
            guard m.count == 1, let name = m["attribute"]?.string, let other = Attribute(rawValue: name) else {
                problem(node.mark, "a value is a literal or { attribute: NAME }")
                return nil
            }
            let expected: AttributeType? = {
                switch (attribute.type, op) {
                case (.codes(let d), .contains): .code(d)
                case (.code, .equals), (.date, _), (.number, _), (.bool, _), (.string, .equals), (.role, .equals):
                    attribute.type
                default: nil
                }
            }()
            guard let expected, expected == other.type else {
                problem(
                    node.mark,
                    "\(other.rawValue) (\(other.type)) cannot be compared this way with \(attribute.rawValue) (\(attribute.type))"
                )
                return nil
            }
            return .attribute(other)
        }
        if op == .exists {
            guard let b = node.bool else {
                problem(node.mark, "exists takes true or false")
                return nil
            }
            return .bool(b)
        }
        func codeList(_ d: Vocabulary.Dimension) -> [String] {
            let list = stringList(node, what: op.rawValue)
            let items = node.array()
            for (i, code) in list.enumerated() {
                pendingCodes.append(
                    (currentFile, items.isEmpty ? node.mark : items[min(i, items.count - 1)].mark, code, d)
                )
            }
            return list
        }
        switch (attribute.type, op) {
        case (.code(let d), .equals), (.codes(let d), .contains):
            guard case .scalar = node, let s = node.string else {
                problem(node.mark, "\(op.rawValue) takes one \(d.noun) code")
                return nil
            }
            pendingCodes.append((currentFile, node.mark, s, d))
            return .code(s)
        case (.code(let d), .in), (.codes(let d), .containsAny), (.codes(let d), .subsetOf):
            return .codes(codeList(d))
        case (.bool, .equals):
            guard let b = node.bool else {
                problem(node.mark, "\(attribute.rawValue) is true or false")
                return nil
            }
            return .bool(b)
        case (.date, _):
            guard let s = node.string, let d = Day(s) else {
                problem(node.mark, "a date is written YYYY-MM-DD")
                return nil
            }
            return .date(d)
        case (.number, _):
            guard let n = node.float ?? node.int.map(Double.init) else {
                problem(node.mark, "\(attribute.rawValue) is compared with a number")
                return nil
            }
            return .number(n)
        case (.string, .equals), (.role, .equals):
            guard let s = node.string else {
                problem(node.mark, "\(op.rawValue) takes a text value")
                return nil
            }
            if attribute.type == .role, Role(rawValue: s) == nil {
                problem(
                    node.mark,
                    "unknown role \(s)",
                    hint: "one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return .string(s)
        case (.string, .in), (.role, .in):
            let list = stringList(node, what: "in")
            if attribute.type == .role {
                for s in list where Role(rawValue: s) == nil {
                    problem(
                        node.mark,
                        "unknown role \(s)",
                        hint: "one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
            }
            return .strings(list)
        default:
            problem(node.mark, "\(op.rawValue) does not apply to \(attribute.rawValue)")
            return nil
        }
    }

    /// Why a condition can never hold, when that can be seen without a request.
    static func neverMatches(_ c: ConditionSpec) -> String? {
        switch c {
        case .any(let parts):
            if parts.isEmpty { return "any of no conditions" }
            let reasons = parts.map(neverMatches)
            return reasons.allSatisfy({ $0 != nil }) ? reasons.compactMap { $0 }.first : nil
        case .all(let parts):
            if let r = parts.lazy.compactMap(neverMatches).first { return r }
            // Each code attribute can equal only one value: intersect what the parts allow.
            var allowed: [Attribute: Set<String>] = [:]
            var consent: Bool?
            for part in parts {
                switch part {
                case .compare(let a, .equals, .code(let v)), .compare(let a, .equals, .string(let v)):
                    allowed[a] = (allowed[a] ?? [v]).intersection([v])
                case .compare(let a, .in, .codes(let vs)), .compare(let a, .in, .strings(let vs)):
                    allowed[a] = (allowed[a] ?? Set(vs)).intersection(vs)
                case .compare(let a, .equals, .bool(let b)):
                    let v = b ? "true" : "false"
                    allowed[a] = (allowed[a] ?? [v]).intersection([v])
                case .consent:
                    if consent == false { return "it requires the consent check both to hold and not to hold" }
                    consent = true
                case .not(.consent):
                    if consent == true { return "it requires the consent check both to hold and not to hold" }
                    consent = false
                default: break
                }
            }
            if let (a, _) = allowed.first(where: { $0.value.isEmpty }) {
                return "\(a.rawValue) cannot take two different values at once"
            }
            return nil
        case .not(let inner):
            if case .compare(_, .exists, .bool) = inner { return nil }
            return nil
        case .compare(let a, .in, .codes(let list)) where list.isEmpty,
            .compare(let a, .in, .strings(let list)) where list.isEmpty,
            .compare(let a, .containsAny, .codes(let list)) where list.isEmpty:
            return "\(a.rawValue) is compared with an empty list"
        case .compare(let a, _, .attribute(let b)) where a == b:
            return nil
        default:
            return nil
        }
    }

    mutating func finish(files: [String: String]) -> PolicySet? {
        let vocabulary = Vocabulary(terms, translations: translations)
        for dimension in Vocabulary.Dimension.allCases where terms[dimension] == nil {
            problems.append(
                PolicyProblem(
                    file: directory,
                    line: 1,
                    column: 1,
                    message: "the vocabulary has no \(dimension.rawValue)",
                    hint: "add vocabulary: \(dimension.rawValue): to a policy file"
                )
            )
        }
        for p in pendingCodes where terms[p.dimension] != nil && !vocabulary.contains(p.code, in: p.dimension) {
            let hint =
                nearest(p.code, in: vocabulary.codes(p.dimension)).map { "did you mean \($0)?" }
                ?? "known: \(vocabulary.codes(p.dimension).joined(separator: ", "))"
            problems.append(
                PolicyProblem(
                    file: directory + "/" + p.file,
                    line: p.mark?.line ?? 1,
                    column: p.mark?.column ?? 1,
                    message: "unknown \(p.dimension.noun) code \(p.code)",
                    hint: hint
                )
            )
        }
        if consenters == nil {
            problems.append(
                PolicyProblem(
                    file: directory,
                    line: 1,
                    column: 1,
                    message: "no consent settings",
                    hint: "add consent: any-of: [parent, guardian, ...]"
                )
            )
        }
        if !rules.contains(where: { $0.effect == .permit }) {
            problems.append(
                PolicyProblem(
                    file: directory,
                    line: 1,
                    column: 1,
                    message: "no permit rule: every share would be denied",
                    hint: "add a rule with effect: permit and when: consent"
                )
            )
        }
        guard problems.isEmpty, let consenters else { return nil }
        return PolicySet(
            vocabulary: vocabulary,
            consenters: consenters,
            duties: duties ?? Duties(),
            rules: rules,
            files: files,
            digest: PolicySet.digest(of: files)
        )
    }
}
