import Foundation
public import TiakiLedger
public import TiakiModel
import TiakiPolicy

/// Everything the ledger holds about one child (Privacy Act 2020, IPP 6), in words a whānau can read: each
/// consent with its seven items, each request to share and its answer, each disclosure, withdrawals, refusals and
/// erasure. Sealed details (names, notes, reasons) are shown while the child's key exists, and the report says
/// when they were erased.
public struct SubjectReport: Sendable, Codable {
    public struct ConsentItem: Sendable, Codable {
        public var index: UInt64
        public var recorded: String
        public var recordedBy: String
        public var items: [String]
        public var agreedBy: [String]
        public var informed: String
        public var text: String
        public var status: String
        public var supersedes: Int?
    }

    public struct Event: Sendable, Codable {
        public var index: UInt64
        public var recorded: String
        public var by: String
        public var kind: String
        public var sentence: String
        public var reasons: [String]?
    }

    public var subject: String
    public var organisation: String?
    public var birthMonth: String?
    public var name: String?
    public var erased: String?
    public var asOf: String
    public var consents: [ConsentItem] = []
    /// Requests to share, refusals, withdrawals, disclosures, reviews and erasure, in ledger order.
    public var events: [Event] = []
    /// Every ledger index the report is drawn from.
    public var entries: [UInt64] = []

    /// Builds the report from the subject's entries, in ledger order.
    public init(
        subject: String,
        entries: [ConsentEntry],
        organisations: [String: String],
        labels: ConsentSummary.Labels,
        asOf: Day,
        unseal: (Sealed) -> String?
    ) {
        self.subject = subject
        self.asOf = asOf.description
        func org(_ id: String) -> String { organisations[id].map { "\($0) (\(id))" } ?? id }
        func words(_ codes: [String]) -> String { codes.map { labels[$0] ?? $0 }.joined(separator: "; ") }
        var withdrawn: [Int: String] = [:]
        var superseded: [Int: UInt64] = [:]
        for entry in entries {
            switch entry.body {
            case let w as ConsentWithdrawn:
                withdrawn[w.consent] = withdrawn[w.consent] ?? "withdrawn on \(w.date) by the \(w.by)"
            case let t as ConsentTerms: if let old = t.supersedes { superseded[old] = entry.index }
            default: break
            }
        }
        for entry in entries {
            self.entries.append(entry.index)
            let by = org(entry.actor.org)
            func event(_ kind: String, _ sentence: String, reasons: [String]? = nil) {
                events.append(
                    Event(
                        index: entry.index,
                        recorded: entry.time,
                        by: by,
                        kind: kind,
                        sentence: sentence,
                        reasons: reasons
                    )
                )
            }
            switch entry.body {
            case let r as SubjectRegistered:
                organisation = org(r.org)
                birthMonth = r.birthMonth
                name = r.nameSealed.flatMap(unseal)
            case let t as ConsentTerms:
                let id = Int(clamping: entry.index)
                let until = Day(t.retention.until)
                var status = "in force"
                if let w = withdrawn[id] {
                    status = w
                } else if let s = superseded[id] {
                    status = "replaced by consent \(s)"
                } else if let until, until < asOf {
                    status = "ended on \(until.plain) (came off the register)"
                }
                consents.append(
                    ConsentItem(
                        index: entry.index,
                        recorded: entry.time,
                        recordedBy: by,
                        items: ConsentSummary.lines(t, labels: labels),
                        agreedBy: t.consenters.map { c in
                            c.nameSealed.flatMap(unseal).map { "\($0) (\(c.role))" } ?? c.role
                        },
                        informed:
                            "told on \(Day(t.informed.date)?.plain ?? t.informed.date) by \(t.informed.method), in \(t.informed.language == "mi" ? "te reo Māori" : t.informed.language == "en" ? "English" : t.informed.language) (notice \(t.informed.noticeVersion))",
                        text: t.text,
                        status: status,
                        supersedes: t.supersedes
                    )
                )
            case let w as ConsentWithdrawn:
                let reason = w.reasonSealed.flatMap(unseal).map { " Reason given: \($0)." } ?? ""
                let told =
                    (w.notify ?? []).isEmpty
                    ? ""
                    : " \((w.notify ?? []).map { org($0.org) }.joined(separator: ", ")), which received information under it, \((w.notify ?? []).count == 1 ? "was" : "were") told to stop using it and delete what they no longer need."
                event("withdrawal", "Consent \(w.consent) was withdrawn on \(w.date) by the \(w.by).\(reason)\(told)")
            case let a as WithdrawalAcknowledged:
                event(
                    "acknowledgement",
                    "\(org(entry.actor.org)) acknowledged on \(a.date) that consent \(a.consent) was withdrawn: it no longer uses what it received under it."
                )
            case let r as ConsentRefused:
                event(
                    "refusal",
                    "The \(r.by.joined(separator: " and ")) declined, on \(r.date), to share \(words(r.information)) for \(words(r.purposes))."
                )
            case let d as DecisionRecord:
                let q = d.request
                event(
                    "decision",
                    "\(org(q.requester)) asked on \(q.date) to share \(words(q.information)) with \(org(q.recipient)) for \(words([q.purpose])). The answer was: \(d.effect == .permit ? "yes, permitted" : "no, not permitted").",
                    reasons: d.reasons
                )
            case let d as DisclosureRecord:
                let flags =
                    d.flags.isEmpty
                    ? ""
                    : " A privacy officer was asked to look at it (\(d.flags.map(\.rawValue).joined(separator: ", ")))."
                let under = d.decision.map { " under decision \($0)" } ?? " without a decision"
                var notice = ""
                if let n = d.notice {
                    notice =
                        n.due
                        ? " \(org(d.recipient)) must tell the whānau that it holds this information (IPP 3A)\(n.by.flatMap(Day.init).map { " by \($0.plain)" } ?? "")."
                        : n.consent.map { " The whānau agreed to this in consent \($0)." } ?? ""
                }
                event(
                    "disclosure",
                    "On \(d.date), \(words(d.information)) was shared with \(org(d.recipient)) for \(words([d.purpose])), by \(words([d.channel]))\(under).\(flags)\(notice)"
                )
            case let n as NoticeSent:
                if let breach = n.breach {
                    event(
                        "notice",
                        "On \(n.date), \(org(entry.actor.org)) told the whānau by \(n.method.rawValue) of privacy breach \(breach)."
                    )
                } else {
                    let behalf =
                        (n.onBehalfOf ?? []).isEmpty
                        ? "" : ", on behalf of \((n.onBehalfOf ?? []).map(org).joined(separator: ", "))"
                    event(
                        "notice",
                        "On \(n.date), \(org(entry.actor.org))\(behalf) told the whānau by \(n.method.rawValue) that it holds information shared with it (disclosure \((n.disclosures ?? []).map(String.init).joined(separator: ", ")); IPP 3A)."
                    )
                }
            case let x as NoticeException:
                let reason = unseal(x.reasonSealed).map { " Reason: \($0)" } ?? ""
                event(
                    "notice-exception",
                    "A privacy officer recorded on \(x.date) that the whānau would not be told of disclosure \(x.disclosure) (IPP 3A), because \(x.code.words).\(reason)"
                )
            case let b as BreachRecorded:
                let mine = b.affected.first { $0.subject == subject }
                event(
                    "breach",
                    "A privacy breach (\(b.breach)) was found on \(Moment(b.found).map(\.plainNZ) ?? b.found) that involved this child's information (\(words(mine?.information ?? []))\(mine.map { ", disclosure \($0.disclosures.map(String.init).joined(separator: ", "))" } ?? ""))."
                )
            case let r as DisclosureReviewed:
                event(
                    "review",
                    "A privacy officer reviewed disclosure \(r.disclosure) on \(r.date): \(r.outcome.rawValue)."
                )
            case let e as SubjectEnrolled:
                event("enrolment", "\(org(e.org)) enrolled the child on \(String(entry.time.prefix(10))).")
            case let e as SubjectErased:
                erased = e.date
                event(
                    "erasure",
                    "Personal details (name, notes, reasons) were erased on \(e.date) (\(e.reason == .retentionEnded ? "the retention period ended" : "on request")). The record that things happened stays, without them."
                )
            default:
                // Organisations, credentials and policy sets are not about the child.
                break
            }
        }
    }

    // MARK: Rendering

    public func json() throws -> [UInt8] {
        var bytes = try CanonicalJSON.encode(try JSONValueEncoder().encode(self))
        bytes.append(0x0A)
        return bytes
    }

    public var text: String {
        var out = "He pūrongo mō te tamaiti · Report about a child\n"
        out += "Child \(subject)"
        if let name { out += " (\(name))" }
        out += "\n"
        if let organisation { out += "Registered by \(organisation)" }
        if let birthMonth { out += ", born \(birthMonth)" }
        out += ". Report as of \(asOf); drawn from \(entries.count) ledger entries.\n"
        if let erased {
            out += "Personal details were erased on \(erased): names, notes and reasons can no longer be read.\n"
        }
        out += "\nNgā whakaaetanga · Consents\n"
        if consents.isEmpty { out += "  None recorded.\n" }
        for c in consents {
            out += "\n  Consent \(c.index), recorded \(c.recorded) by \(c.recordedBy): \(c.status).\n"
            out += "  Agreed by: \(c.agreedBy.joined(separator: ", ")); \(c.informed).\n"
            for item in c.items { out += "    \(item)\n" }
        }
        out += "\nNgā mahi · What happened\n"
        if events.isEmpty { out += "  Nothing else recorded.\n" }
        for e in events {
            out += "  [\(e.index)] \(e.recorded) (\(e.by)): \(e.sentence)\n"
            for r in e.reasons ?? [] { out += "      \(r)\n" }
        }
        return out
    }

    /// A self-contained printable page (no scripts, no outside resources).
    public var html: String {
        let h = HTML.escape
        var o = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <title>Report about child \(h(subject))</title>
            <style>
            body{font-family:Georgia,serif;max-width:46em;margin:2em auto;line-height:1.45;color:#111}
            h1,h2{font-family:Helvetica,Arial,sans-serif}h2 span{font-weight:normal;color:#555}
            .consent{border:1px solid #999;padding:.5em 1em;margin:1em 0;break-inside:avoid}
            .meta{color:#444;font-size:.9em}li{margin:.2em 0}
            @media print{body{margin:0}}
            </style></head><body>
            <h1><span lang="mi">He pūrongo mō te tamaiti</span> · Report about a child</h1>

            """
        o += "<p>Child <strong>\(h(subject))</strong>"
        if let name { o += " (\(h(name)))" }
        if let organisation { o += ", registered by \(h(organisation))" }
        if let birthMonth { o += ", born \(h(birthMonth))" }
        o += ". Report as of \(h(asOf)), drawn from \(entries.count) ledger entries.</p>\n"
        if let erased {
            o +=
                "<p><strong>Personal details were erased on \(h(erased)).</strong> Names, notes and reasons can no longer be read.</p>\n"
        }
        o += "<h2><span lang=\"mi\">Ngā whakaaetanga</span> · Consents</h2>\n"
        if consents.isEmpty { o += "<p>None recorded.</p>\n" }
        for c in consents {
            o += "<div class=\"consent\"><h3>Consent \(c.index): \(h(c.status))</h3>\n"
            o +=
                "<p class=\"meta\">Recorded \(h(c.recorded)) by \(h(c.recordedBy)). Agreed by \(h(c.agreedBy.joined(separator: ", "))); \(h(c.informed)).</p>\n<ol>\n"
            for item in c.items {
                let text = item.drop { $0 != " " }.dropFirst()
                o += "<li>\(h(String(text)))</li>\n"
            }
            o += "</ol>\n<p class=\"meta\">What you were shown: “\(h(c.text))”</p></div>\n"
        }
        o += "<h2><span lang=\"mi\">Ngā mahi</span> · What happened</h2>\n<ul>\n"
        for e in events {
            o += "<li><span class=\"meta\">\(h(e.recorded)), entry \(e.index), \(h(e.by)):</span> \(h(e.sentence))"
            if let reasons = e.reasons, !reasons.isEmpty {
                o += "<ul>" + reasons.map { "<li>\(h($0))</li>" }.joined() + "</ul>"
            }
            o += "</li>\n"
        }
        if events.isEmpty { o += "<li>Nothing else recorded.</li>\n" }
        o +=
            "</ul>\n<p class=\"meta\">Every line above is an entry in a signed ledger; ask for a receipt or the entry numbers to check it.</p>\n</body></html>\n"
        return o
    }
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
        var organisations: [String: String] = [:]
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
                organisations[id] = o.name
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
                case let o as OrganisationRegistered: organisations[o.id] = organisations[o.id] ?? o.name
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
