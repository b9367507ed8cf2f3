public import TiakiModel

/// The breach report a privacy officer prints or copies into the Privacy Commissioner's online form (NotifyUs):
/// the agency and its contact, when the breach happened and was found, what happened, the people affected and how
/// many, the kinds of information (sensitive ones named), who obtained it, the assessment of harm with the
/// factors weighed, and whether the Commissioner and the people affected have been told.
public struct BreachReport: Sendable {
    public var facts: BreachFacts

    public init(_ facts: BreachFacts) { self.facts = facts }

    /// The report as (question, answer) pairs, in the order of the form.
    public var lines: [(String, String)] {
        let f = facts
        let found = Moment(f.found).map(\.plainNZ) ?? f.found
        var when: String
        if let list = f.scope.disclosures {
            when = "the disclosures recorded at ledger entries \(list.map(String.init).joined(separator: ", "))"
        } else {
            let from = f.scope.from.flatMap(Day.init)?.plain
            let to = f.scope.to.flatMap(Day.init)?.plain
            when =
                switch (from, to) {
                case (let a?, let b?): a == b ? "on \(a)" : "between \(a) and \(b)"
                case (let a?, nil): "from \(a)"
                case (nil, let b?): "up to \(b)"
                default: "at any time before it was found"
                }
            if let r = f.scope.recipient {
                when += ", in what was shared with \(f.recipients.first { $0.id == r }?.name ?? r)"
            }
            if let c = f.scope.channel { when += ", by \(c)" }
        }
        let told = f.children.filter { $0.noticeSent != nil }.count
        var assessment = "Not yet assessed (due by \(Moment(f.assessBy)?.plainNZ ?? f.assessBy))."
        if let a = f.assessment {
            assessment =
                (a.seriousHarm
                    ? "Likely to cause serious harm: notifiable."
                    : "Not likely to cause serious harm: not notifiable.")
                + " Assessed \(Moment(a.assessed)?.plainNZ ?? a.assessed). Factors weighed: "
                + a.factors.map(\.label).joined(separator: "; ") + "." + (a.reasons.map { " Reasons: \($0)" } ?? "")
        }
        let sensitive =
            f.sensitive.isEmpty
            ? "None of it is information the cluster's policy calls sensitive."
            : "Sensitive: \(f.sensitive.map(\.label).joined(separator: "; "))."
        return [
            ("Breach", "\(f.breach) (Tiaki ledger entry \(f.index))"),
            (
                "Your organisation",
                f.agency.name + (f.agency.contact.map { ", " + $0 } ?? " (no contact address recorded)")
            ),
            ("When it happened", when),
            ("When it was found", found),
            ("What happened", f.description ?? "(the description can no longer be read)"),
            ("Who obtained the information", f.recipients.map(\.name).joined(separator: ", ")),
            (
                "People affected",
                "\(f.children.count) \(f.children.count == 1 ? "child" : "children") (and their whānau)"
            ),
            ("Information involved", f.information.map(\.label).joined(separator: "; ") + ". " + sensitive),
            ("Assessment of harm", assessment),
            (
                "Privacy Commissioner notified",
                f.commissionerNotified.map {
                    "Yes, \(Moment($0)?.plainNZ ?? $0), reference \(f.commissionerReference ?? "?")"
                }
                    ?? "Not yet (due by \(Moment(f.notifyBy)?.plainNZ ?? f.notifyBy) if notifiable)"
            ),
            ("Affected people notified", "\(told) of \(f.children.count)"),
        ]
    }

    public var text: String {
        var o = "Privacy breach report\n=====================\n\n"
        for (q, a) in lines { o += "\(q):\n  \(a)\n\n" }
        o += "Children affected:\n"
        for c in facts.children {
            o +=
                "  \(c.subject)\(c.childName.map { " (\($0))" } ?? ""): disclosures \(c.disclosures.map(String.init).joined(separator: ", ")); \(c.information.map(\.code).joined(separator: ", ")); \(c.noticeSent.map { "whānau told (entry \($0))" } ?? "whānau not yet told")\n"
        }
        return o
    }

    public var html: String {
        DocumentTemplates.render(
            .breachReport,
            Model(
                breach: facts.breach,
                lines: lines.map { .init(question: $0.0, answer: $0.1) },
                children: facts.children.map { c in
                    .init(
                        subject: c.subject,
                        name: c.childName,
                        disclosures: c.disclosures.map(String.init).joined(separator: ", "),
                        information: c.information.map(\.label).joined(separator: "; "),
                        told: c.noticeSent.map { "yes (entry \($0))" } ?? "not yet"
                    )
                }
            )
        )
    }

    /// What `breach-report.mustache` reads.
    struct Model: Encodable {
        struct Line: Encodable {
            let question: String
            let answer: String
        }
        struct Child: Encodable {
            let subject: String
            let name: String?
            let disclosures: String
            let information: String
            let told: String
        }
        let breach: String
        let lines: [Line]
        let children: [Child]
    }
}
