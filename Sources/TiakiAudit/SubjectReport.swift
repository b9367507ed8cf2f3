import Foundation
public import TiakiLedger
public import TiakiModel
import TiakiPolicy

/// Everything the ledger holds about one child (Privacy Act 2020, IPP 6), written for the child's whānau: a summary
/// (what consent is in force, who has received what), each consent with its seven items, what happened in New
/// Zealand dates and times, and their rights; the ledger's ids (entries, organisations, rules) are kept for auditors
/// in an appendix. Sealed details (names, notes, reasons) are shown while the child's key exists, and the report
/// says when they were erased.
public struct SubjectReport: Sendable, Codable {
    /// An organisation as the report names it.
    public struct Organisation: Sendable, Codable, Hashable {
        public var name: String
        public var contact: String?

        public init(name: String, contact: String? = nil) {
            self.name = name
            self.contact = contact
        }
    }

    public struct ConsentItem: Sendable, Codable {
        public var index: UInt64
        /// Its number in this report (1, 2, …), as the sentences name it.
        public var number: Int
        /// The ledger time (UTC), and the day in New Zealand in words.
        public var recorded: String
        public var recordedOn: String
        public var recordedBy: String
        public var recordedById: String
        public var items: [String]
        public var agreedBy: [String]
        public var informed: String
        public var text: String
        public var status: String
        public var current: Bool
        public var supersedes: Int?
    }

    public struct Event: Sendable, Codable {
        public var index: UInt64
        /// The ledger time (UTC), and the same in New Zealand time, in words.
        public var recorded: String
        public var when: String
        public var by: String
        public var byId: String
        public var kind: String
        public var sentence: String
        public var reasons: [String]?
        /// The policy rules behind a decision (for the appendix).
        public var rules: [String]?
    }

    /// Who has received information about the child, what, and when (first and last share).
    public struct Received: Sendable, Codable {
        public var recipient: String
        public var recipientId: String
        public var information: [String]
        public var first: String
        public var last: String
    }

    public var subject: String
    public var organisation: String?
    public var organisationId: String?
    public var contact: String?
    public var birthMonth: String?
    public var name: String?
    public var erased: String?
    public var asOf: String
    /// A few sentences: what consent is in force now, who has received information.
    public var summary: [String] = []
    public var received: [Received] = []
    public var consents: [ConsentItem] = []
    /// Requests to share, refusals, withdrawals, disclosures, reviews, notices and erasure, in ledger order.
    public var events: [Event] = []
    /// The whānau's rights: to see and correct (IPP 6 and 7), whom to contact, the Privacy Commissioner.
    public var rights: [String] = []
    /// Organisation ids and names, for the appendix.
    public var organisationIds: [String: String] = [:]
    /// Every ledger index the report is drawn from.
    public var entries: [UInt64] = []

    /// Builds the report from the subject's entries, in ledger order.
    public init(
        subject: String,
        entries: [ConsentEntry],
        organisations: [String: Organisation],
        labels: ConsentSummary.Labels,
        asOf: Day,
        unseal: (Sealed) -> String?
    ) {
        self.subject = subject
        self.asOf = asOf.plain
        func org(_ id: String) -> String {
            let name = organisations[id]?.name ?? id
            organisationIds[id] = name
            return name
        }
        func words(_ codes: [String]) -> String { ConsentSummary.list(codes.map { labels[$0] ?? $0 }) }
        func label(_ code: String) -> String { labels[code] ?? code }
        func day(_ text: String) -> String { Day(text)?.plain ?? text }
        // Consents are named by their ledger index, as every page and receipt names them.
        var numbers: [Int: Int] = [:]
        var withdrawn: [Int: (by: String, date: String)] = [:]
        var superseded: [Int: Int] = [:]
        for entry in entries {
            switch entry.body {
            case is ConsentTerms: numbers[Int(clamping: entry.index)] = Int(clamping: entry.index)
            case let w as ConsentWithdrawn where withdrawn[w.consent] == nil: withdrawn[w.consent] = (w.by, w.date)
            default: break
            }
            if let t = entry.body as? ConsentTerms, let old = t.supersedes {
                superseded[old] = Int(clamping: entry.index)
            }
        }
        func consent(_ id: Int) -> String { numbers[id].map { "consent \($0)" } ?? "a consent" }
        let child = "the child"
        var disclosureDays: [Int: String] = [:]
        var received: [String: (information: [String], first: Day, last: Day)] = [:]
        var receivedOrder: [String] = []
        for entry in entries {
            self.entries.append(entry.index)
            func event(_ kind: String, _ sentence: String, reasons: [String]? = nil, rules: [String]? = nil) {
                events.append(
                    Event(
                        index: entry.index,
                        recorded: entry.time,
                        when: Moment(entry.time)?.plainNZ ?? entry.time,
                        by: org(entry.actor.org),
                        byId: entry.actor.org,
                        kind: kind,
                        sentence: sentence,
                        reasons: reasons,
                        rules: rules
                    )
                )
            }
            switch entry.body.typed {
            case .subjectRegistered(let r):
                organisation = org(r.org)
                organisationId = r.org
                contact = organisations[r.org]?.contact
                birthMonth = r.birthMonth
                name = r.nameSealed.flatMap(unseal)
            case .consentTerms(let sealedTerms):
                // The words people typed are sealed to the child's key: opened while it exists.
                let t = sealedTerms.mapText {
                    Sealed.isSealed($0) ? unseal(Sealed(token: $0)) ?? "(sealed)" : $0
                }
                let id = Int(clamping: entry.index)
                let until = Day(t.retention.until)
                var status = "in force until \(until?.plain ?? t.retention.until)"
                var current = true
                if let w = withdrawn[id] {
                    status = "withdrawn by \(label(w.by)) on \(day(w.date))"
                    current = false
                } else if let s = superseded[id] {
                    status = "replaced by \(consent(s))"
                    current = false
                } else if let until, until < asOf {
                    status = "ended on \(until.plain) (came off the register)"
                    current = false
                }
                let language =
                    t.informed.language == "mi"
                    ? "te reo Māori" : t.informed.language == "en" ? "English" : t.informed.language
                consents.append(
                    ConsentItem(
                        index: entry.index,
                        number: numbers[id] ?? consents.count + 1,
                        recorded: entry.time,
                        recordedOn: Moment(entry.time)?.nzDay.plain ?? entry.time,
                        recordedBy: org(entry.actor.org),
                        recordedById: entry.actor.org,
                        items: ConsentSummary.plainLines(t, labels: labels, organisation: org),
                        agreedBy: t.consenters.map { c in
                            c.nameSealed.flatMap(unseal).map { "\($0) (\(label(c.role)))" } ?? label(c.role)
                        },
                        informed: ConsentSummary.sentence(
                            "The whānau were told on \(day(t.informed.date)) (\(ConsentSummary.trimmed(t.informed.method))), in \(language), with notice \(t.informed.noticeVersion)"
                        ),
                        text: t.text,
                        status: status,
                        current: current,
                        supersedes: t.supersedes
                    )
                )
            case .consentWithdrawn(let w):
                let reason =
                    w.reasonSealed.flatMap(unseal).map { " The reason given: " + ConsentSummary.sentence($0) } ?? ""
                let notify = (w.notify ?? []).map { org($0.org) }
                let told =
                    notify.isEmpty
                    ? ""
                    : " \(ConsentSummary.list(notify)), which received information under it, \(notify.count == 1 ? "was" : "were") told to stop using it and delete what \(notify.count == 1 ? "it no longer needs" : "they no longer need")."
                event(
                    "withdrawal",
                    ConsentSummary.sentence(
                        "\(ConsentSummary.capitalised(label(w.by))) withdrew \(consent(w.consent)) on \(day(w.date))"
                    )
                        + reason + told
                )
            case .withdrawalAcknowledged(let a):
                event(
                    "acknowledgement",
                    "\(org(entry.actor.org)) confirmed on \(day(a.date)) that it no longer uses what it received under \(consent(a.consent))."
                )
            case .consentRefused(let r):
                event(
                    "refusal",
                    "\(ConsentSummary.capitalised(ConsentSummary.list(r.by.map(label)))) declined, on \(day(r.date)), to share \(words(r.information)) for \(words(r.purposes))."
                )
            case .decisionRecord(let d):
                let q = d.request
                event(
                    "decision",
                    "\(org(q.requester)) asked to share \(words(q.information)) with \(org(q.recipient)) on \(day(q.date)), for \(words([q.purpose])). \(d.effect == .permit ? "This was allowed." : "This was not allowed.")",
                    reasons: Self.plainReasons(d.reasons, consent: { numbers[$0].map { "consent \($0)" } }),
                    rules: d.rules
                )
            case .disclosureRecord(let d):
                let id = Int(clamping: entry.index)
                disclosureDays[id] = day(d.date)
                if let shared = Day(d.date) {
                    let r = d.share.recipient
                    if received[r] == nil {
                        receivedOrder.append(r)
                        received[r] = ([], shared, shared)
                    }
                    for i in d.share.information where received[r]?.information.contains(i) == false {
                        received[r]?.information.append(i)
                    }
                    if var seen = received[r] {
                        seen.first = min(seen.first, shared)
                        seen.last = max(seen.last, shared)
                        received[r] = seen
                    }
                }
                var sentence =
                    "\(org(entry.actor.org)) shared \(words(d.information)) with \(org(d.recipient)) on \(day(d.date)), for \(words([d.purpose])) (how: \(label(d.channel)))."
                if !d.flags.isEmpty {
                    sentence +=
                        " A privacy officer was asked to look at it, because it was shared \(ConsentSummary.list(d.flags.map(Self.words)))."
                }
                if let n = d.notice {
                    if n.due {
                        sentence +=
                            " \(org(d.recipient)) must tell you that it holds this information (Privacy Act 2020, principle 3A)\(n.by.map { " by \(day($0))" } ?? "")."
                    } else if let c = n.consent {
                        sentence += " You agreed to this in \(consent(c))."
                    }
                }
                event("disclosure", sentence)
            case .disclosureReviewed(let r):
                event(
                    "review",
                    "A privacy officer reviewed the share of \(disclosureDays[r.disclosure] ?? "an earlier day") on \(day(r.date)) and found it \(r.outcome == .justified ? "justified" : "not justified")."
                )
            case .noticeSent(let n):
                if n.breach != nil {
                    event(
                        "notice",
                        "\(org(entry.actor.org)) told you on \(day(n.date)) of a privacy breach that involved \(child)'s information."
                    )
                } else {
                    let behalf = (n.onBehalfOf ?? []).map(org)
                    let days = (n.disclosures ?? []).compactMap { disclosureDays[$0] }
                    event(
                        "notice",
                        "\(org(entry.actor.org))\(behalf.isEmpty ? "" : ", on behalf of \(ConsentSummary.list(behalf)),") told you on \(day(n.date)) that it holds information shared \(days.isEmpty ? "earlier" : "on \(ConsentSummary.list(days))") (Privacy Act 2020, principle 3A)."
                    )
                }
            case .noticeException(let x):
                let reason = unseal(x.reasonSealed).map { " The reason: " + ConsentSummary.sentence($0) } ?? ""
                event(
                    "notice-exception",
                    "A privacy officer decided on \(day(x.date)) that you would not be told of the share of \(disclosureDays[x.disclosure] ?? "an earlier day"), because \(x.code.words).\(reason)"
                )
            case .breachRecorded(let b):
                let mine = b.affected.first { $0.subject == subject }
                event(
                    "breach",
                    "A privacy breach found on \(Moment(b.found).map(\.plainNZ) ?? b.found) involved \(child)'s information (\(words(mine?.information ?? [])))."
                )
            case .subjectEnrolled:
                event("enrolment", "\(org(entry.actor.org)) enrolled \(child).")
            case .subjectErased(let e):
                erased = day(e.date)
                event(
                    "erasure",
                    "Personal details (name, notes, reasons) were erased on \(day(e.date)) (\(e.reason == .retentionEnded ? "the retention period ended" : "on request")). The record that things happened stays, without them."
                )
            case .organisationRegistered, .credentialIssued, .credentialRevoked, .policyPublished, .breachAssessed,
                .breachCommissionerNotified:
                // Organisations, credentials and policy sets are not about the child; a breach's assessment and the
                // Commissioner's notification are the agency's, told to whānau by the notice.
                break
            }
        }
        self.received = receivedOrder.compactMap { id in
            received[id].map {
                Received(
                    recipient: org(id),
                    recipientId: id,
                    information: $0.information.map(label),
                    first: $0.first.plain,
                    last: $0.last.plain
                )
            }
        }
        let inForce = consents.filter(\.current)
        summary.append(
            inForce.isEmpty
                ? "No consent is in force now: nothing more is shared with your agreement."
                : inForce.map { "Consent \($0.number) is \($0.status)." }.joined(separator: " ")
        )
        summary.append(
            self.received.isEmpty
                ? "No information about \(child) has been shared."
                : "Information about \(child) has been shared with \(ConsentSummary.list(self.received.map(\.recipient)))."
        )
        let school = organisation ?? "the school"
        rights = [
            "You may ask to see all the information held about \(child), and ask for it to be corrected (Privacy Act 2020, information privacy principles 6 and 7).",
            "To ask, or to withdraw a consent, contact \(school)\(contact.map { ": \($0)" } ?? "'s office").",
            "If you are not satisfied with the answer, you may complain to the Privacy Commissioner: www.privacy.org.nz, 0800 803 909.",
        ]
    }

    /// A decision's reasons as a whānau reads them: the rule each names is the appendix's; a rule that did not
    /// apply explains nothing to them; consents are named by their number in the report.
    /// - Parameter labelled: whether each reason starts "Why:" or "Why not:" (a page that heads them "Why" says
    ///   it once).
    public static func plainReasons(_ reasons: [String], consent: (Int) -> String?, labelled: Bool = true) -> [String] {
        reasons.compactMap { reason -> String? in
            if reason.hasPrefix("Rule "), reason.contains(" does not apply") { return nil }
            if reason == "Not permitted: no rule allows this share." { return nil }
            var r = reason
            for prefix in ["Permitted by rule ", "Forbidden by rule "] where r.hasPrefix(prefix) {
                if let colon = r.range(of: ": ") {
                    r =
                        (labelled ? (prefix.hasPrefix("Permitted") ? "Why: " : "Why not: ") : "")
                        + r[colon.upperBound...]
                    if !labelled { r = ConsentSummary.capitalised(r) }
                }
            }
            // "consent 35" (a ledger index) → "consent 1" (its number here).
            var out = ""
            var rest = Substring(r)
            while let m = rest.range(of: "onsent ") {
                out += rest[..<m.upperBound]
                rest = rest[m.upperBound...]
                let digits = rest.prefix { $0.isNumber }
                if let n = Int(digits), let named = consent(n) {
                    out += named.dropFirst("consent ".count)
                    rest = rest.dropFirst(digits.count)
                }
            }
            return out + rest
        }
    }

    static func words(_ flag: DisclosureRecord.Flag) -> String {
        switch flag {
        case .noDecision: "without asking first"
        case .decisionDenied: "although the answer was no"
        case .otherRecipient: "with another organisation than was asked about"
        case .otherPurpose: "for another purpose than was asked about"
        case .moreInformation: "with more information than was asked about"
        }
    }

    // MARK: Rendering

    public func json() throws -> [UInt8] {
        var bytes = try CanonicalJSON.encode(try JSONValueEncoder().encode(self))
        bytes.append(0x0A)
        return bytes
    }

    /// "Aroha", or "the child" when the name is not held.
    var childName: String { name ?? "the child" }

    public var text: String {
        var out = "He pūrongo mō te tamaiti · Report about a child\n\n"
        out += ConsentSummary.capitalised(childName)
        if let organisation { out += ", registered by \(organisation)" }
        if let birthMonth, let born = Day.parseMonth(birthMonth) {
            out += ", born \(Day.monthName(born.month)) \(born.year)"
        }
        out += ". This report is as of \(asOf).\n"
        if let erased {
            out += "Personal details were erased on \(erased): names, notes and reasons can no longer be read.\n"
        }
        out += "\nHe whakarāpopototanga · Summary\n"
        for line in summary { out += "  \(line)\n" }
        for r in received {
            out +=
                "  \(r.recipient) received \(ConsentSummary.list(r.information)) (\(r.first == r.last ? r.first : "\(r.first) to \(r.last)")).\n"
        }
        out += "\nNgā whakaaetanga · Consents\n"
        if consents.isEmpty { out += "  None recorded.\n" }
        for c in consents {
            out += "\n  Consent \(c.number), recorded on \(c.recordedOn) by \(c.recordedBy): \(c.status).\n"
            out += "  Agreed by \(ConsentSummary.list(c.agreedBy)). \(c.informed)\n"
            for item in c.items { out += "    \(item)\n" }
        }
        out += "\nNgā mahi · What happened\n"
        if events.isEmpty { out += "  Nothing else recorded.\n" }
        for e in events {
            out += "  \(e.when): \(e.sentence)\n"
            for r in e.reasons ?? [] { out += "      \(r)\n" }
        }
        out += "\nŌu mōtika · Your rights\n"
        for r in rights { out += "  \(r)\n" }
        out += "\nFor auditors: the ledger entries behind this report\n"
        out += "  Child \(subject)"
        if !organisationIds.isEmpty {
            out +=
                "; organisations: "
                + organisationIds.sorted { $0.key < $1.key }.map { "\($0.value) = \($0.key)" }.joined(separator: ", ")
        }
        out += ".\n"
        for c in consents { out += "  Consent \(c.number) = entry \(c.index), \(c.recorded).\n" }
        for e in events {
            out += "  entry \(e.index)  \(e.recorded)  \(e.kind)  \(e.byId)"
            if let rules = e.rules, !rules.isEmpty { out += "  rules \(rules.joined(separator: ", "))" }
            out += "\n"
        }
        return out
    }

    /// The styles of the printable report, served by the service as a stylesheet (the CSP allows only its own)
    /// and written inline into a file made by `tiaki audit subject --format html`.
    public static let stylesheet = """
        body{font-family:Georgia,serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.45;color:#111}
        h1,h2,h3{font-family:Helvetica,Arial,sans-serif;line-height:1.2}h2 span,h1 span{font-weight:normal}
        .consent{border:1px solid #767676;padding:.5em 1em;margin:1em 0;break-inside:avoid}
        .meta{color:#3b3b3b;font-size:.9em}li{margin:.25em 0}
        .appendix{font-size:.85em;color:#3b3b3b;border-top:1px solid #767676;margin-top:2em}
        .appendix td,.appendix th{text-align:left;padding:.1em .6em .1em 0;vertical-align:top}
        @media print{body{margin:0;max-width:none}.appendix{break-before:page}}

        """

    /// A printable page (no scripts, no outside resources): the styles inline, or linked from `stylesheetURL`.
    public func html(stylesheetURL: String? = nil) -> String {
        DocumentTemplates.render(
            .report,
            PageModel(body: bodyModel, stylesheetURL: stylesheetURL, stylesheet: Self.stylesheet)
        )
    }

    /// The page's content without its head: for a page that draws its own frame around it.
    public var htmlBody: String { DocumentTemplates.render(.reportBody, bodyModel) }

    /// What `report.mustache` reads.
    struct PageModel: Encodable {
        let body: BodyModel
        let stylesheetURL: String?
        let stylesheet: String

        func encode(to encoder: any Encoder) throws {
            // The body's members at the top, beside the page's own, as the partial reads them.
            try body.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encodeIfPresent(stylesheetURL, forKey: .stylesheetURL)
            try c.encode(stylesheet, forKey: .stylesheet)
        }

        enum Keys: String, CodingKey { case stylesheetURL, stylesheet }
    }

    /// What `report-body.mustache` reads: the report in the words and order it is printed.
    struct BodyModel: Encodable {
        struct Received: Encodable {
            let recipient: String
            let information: String
            let when: String
        }
        struct Consent: Encodable {
            let number: Int
            let status: String
            let recordedOn: String
            let recordedBy: String
            let agreedBy: String
            let informed: String
            let items: [String]
            let text: String
        }
        struct Event: Encodable {
            let when: String
            let sentence: String
            let hasReasons: Bool
            let reasons: [String]
        }
        struct Row: Encodable {
            let index: String
            let recorded: String
            let kind: String
            let by: String
            let rules: String
        }
        let childName: String
        let childNameCapitalised: String
        let organisation: String?
        let born: String?
        let asOf: String
        let erased: String?
        let summary: [String]
        let received: [Received]
        let consents: [Consent]
        let events: [Event]
        let rights: [String]
        let subject: String
        let organisations: String?
        let rows: [Row]
    }

    var bodyModel: BodyModel {
        BodyModel(
            childName: childName,
            childNameCapitalised: ConsentSummary.capitalised(childName),
            organisation: organisation,
            born: birthMonth.flatMap(Day.parseMonth).map { "\(Day.monthName($0.month)) \($0.year)" },
            asOf: asOf,
            erased: erased,
            summary: summary,
            received: received.map {
                .init(
                    recipient: $0.recipient,
                    information: ConsentSummary.list($0.information),
                    when: $0.first == $0.last ? $0.first : "\($0.first) to \($0.last)"
                )
            },
            consents: consents.map { c in
                .init(
                    number: c.number,
                    status: c.status,
                    recordedOn: c.recordedOn,
                    recordedBy: c.recordedBy,
                    agreedBy: ConsentSummary.list(c.agreedBy),
                    informed: c.informed,
                    // The items are stored numbered ("1. …"); the page's list numbers them.
                    items: c.items.map { String($0.drop { $0 != " " }.dropFirst()) },
                    text: c.text
                )
            },
            events: events.map {
                .init(
                    when: $0.when,
                    sentence: $0.sentence,
                    hasReasons: !($0.reasons ?? []).isEmpty,
                    reasons: $0.reasons ?? []
                )
            },
            rights: rights,
            subject: subject,
            organisations: organisationIds.isEmpty
                ? nil
                : organisationIds.sorted { $0.key < $1.key }.map { "\($0.value) = \($0.key)" }.joined(separator: ", "),
            rows: consents.map {
                .init(
                    index: String($0.index),
                    recorded: $0.recorded,
                    kind: "consent \($0.number)",
                    by: $0.recordedById,
                    rules: ""
                )
            }
                + events.map {
                    .init(
                        index: String($0.index),
                        recorded: $0.recorded,
                        kind: $0.kind,
                        by: $0.byId,
                        rules: ($0.rules ?? []).joined(separator: ", ")
                    )
                }
        )
    }

    /// The page with its styles inline.
    public var html: String { html() }
}

extension SubjectReport {
    /// The report of `subject` from a ledger: through the key index when there is one (a few reads, however long
    /// the ledger), else by reading every entry. `nil` when the ledger holds nothing about the subject.
    public static func load(
        subject: String,
        from source: some KeyedEntries,
        scan: ((_ visit: (ConsentEntry) -> Void) throws -> Void)? = nil,
        also: [UInt64] = [],
        asOf: Day,
        unseal: (Sealed) -> String?
    ) throws -> SubjectReport? {
        func parse(_ indexes: [UInt64]) throws -> [ConsentEntry] {
            try zip(indexes, source.entries(at: indexes)).map { index, bytes in
                var entry = try ConsentEntry(bytes: bytes)
                entry.index = index
                return entry
            }
        }
        var entries: [ConsentEntry]
        var organisations: [String: Organisation] = [:]
        var labels: ConsentSummary.Labels = [:]
        if let keyed = try source.keyedIndexes(subject) {
            // Entries about several children (breaches) are filed under none; the caller names them.
            let indexes = keyed.isEmpty ? keyed : Array(Set(keyed + also)).sorted()
            entries = try parse(indexes)
            var ids: Set<String> = []
            for e in entries {
                ids.insert(e.actor.org)
                switch e.body {
                case let r as SubjectRegistered: ids.insert(r.org)
                case let d as DecisionRecord: ids.formUnion([d.request.requester, d.request.recipient])
                case let d as DisclosureRecord: ids.insert(d.recipient)
                default: break
                }
            }
            for id in ids.sorted() {
                guard let first = try source.keyedIndexes("org:" + id)?.first,
                    let o = try parse([first]).first?.body as? OrganisationRegistered
                else { continue }
                organisations[id] = Organisation(name: o.name, contact: o.contact)
            }
            if let last = try source.keyedIndexes("policy")?.last,
                let p = try parse([last]).first?.body as? PolicyPublished
            {
                labels = Self.labels(p)
            }
        } else if let scan {
            entries = []
            var policy: PolicyPublished?
            try scan { e in
                switch e.body {
                case let o as OrganisationRegistered:
                    organisations[o.id] = organisations[o.id] ?? Organisation(name: o.name, contact: o.contact)
                case let p as PolicyPublished: policy = p
                case let b as BreachRecorded where b.affected.contains(where: { $0.subject == subject }):
                    entries.append(e)
                default: if e.subject == subject { entries.append(e) }
                }
            }
            labels = policy.map(Self.labels) ?? [:]
        } else {
            entries = []
        }
        guard !entries.isEmpty else { return nil }
        return SubjectReport(
            subject: subject,
            entries: entries,
            organisations: organisations,
            labels: labels,
            asOf: asOf,
            unseal: unseal
        )
    }

    static func labels(_ p: PolicyPublished) -> ConsentSummary.Labels {
        (try? PolicySet.parse(files: p.files)).map { ConsentSummary.labels($0.vocabulary) } ?? [:]
    }
}
