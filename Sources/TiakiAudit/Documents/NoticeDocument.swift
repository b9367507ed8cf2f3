public import TiakiModel

/// A notice to a whānau, in one language or two (English, then te reo Māori), as plain text or a printable page
/// (no scripts, no outside resources, every value escaped).
public struct NoticeDocument: Sendable {
    public struct Part: Sendable {
        public var language: DocumentLanguage
        public var title: String
        public var note: String?
        /// Headed paragraphs; a paragraph without a heading stands alone.
        public var paragraphs: [(heading: String?, text: String)]
    }

    public var parts: [Part]

    public var text: String {
        parts.map { part in
            var o = part.title + "\n" + String(repeating: "=", count: part.title.count) + "\n\n"
            if let note = part.note { o += "(\(note))\n\n" }
            for p in part.paragraphs {
                if let heading = p.heading { o += heading + ":\n" }
                o += p.text + "\n\n"
            }
            return o
        }.joined(separator: "\n")
    }

    public var html: String {
        DocumentTemplates.render(
            .notice,
            Model(
                lang: parts.first?.language.rawValue ?? "en",
                title: parts.map(\.title).joined(separator: " · "),
                parts: parts.map { part in
                    .init(
                        language: part.language.rawValue,
                        title: part.title,
                        note: part.note,
                        paragraphs: part.paragraphs.map { .init(heading: $0.heading, text: $0.text) }
                    )
                }
            )
        )
    }

    /// What `notice.mustache` reads.
    struct Model: Encodable {
        struct Part: Encodable {
            struct Paragraph: Encodable {
                let heading: String?
                let text: String
            }
            let language: String
            let title: String
            let note: String?
            let paragraphs: [Paragraph]
        }
        let lang: String
        let title: String
        let parts: [Part]
    }

    /// The IPP 3A notice for a disclosure: every item principle 3A(1) asks for, filled from the facts.
    public static func collection(_ f: CollectionNoticeFacts, languages: [DocumentLanguage]) -> NoticeDocument {
        NoticeDocument(
            parts: languages.map { language in
                let w = NoticeWords.words(language)
                let child = f.childName ?? w.yourChild
                let date = Day(f.shared).map { $0.plain(language) } ?? f.shared
                let contact = f.collector.contact ?? w.noContact
                var paragraphs: [(String?, String)] = [
                    (nil, w.collectionIntro(f.collector.name, child, f.source.name, date)),
                    (w.why, f.purpose.label),
                    (w.what, f.information.map(\.label).joined(separator: "; ")),
                    (nil, w.whoSees(f.collector.name)),
                ]
                paragraphs.append((w.collectedBy, f.collector.name + (f.collector.contact.map { ", " + $0 } ?? "")))
                paragraphs.append((w.cameFrom, f.source.name + (f.source.contact.map { ", " + $0 } ?? "")))
                paragraphs.append((w.law, (f.collector.law ?? w.noLaw) + " " + w.voluntary))
                paragraphs.append((w.rightsTitle, w.rights(contact) + " " + w.complain))
                paragraphs.append((nil, w.reference(String(f.disclosure))))
                return Part(language: language, title: w.collectionTitle, note: w.reviewNote, paragraphs: paragraphs)
            }
        )
    }

    /// The notice to one affected child's whānau of a breach; `nil` when the child is not among those affected.
    public static func breach(_ f: BreachFacts, subject: String, languages: [DocumentLanguage]) -> NoticeDocument? {
        guard let c = f.children.first(where: { $0.subject == subject }) else { return nil }
        return NoticeDocument(
            parts: languages.map { language in
                let w = NoticeWords.words(language)
                let found = Moment(f.found).map { $0.nzDay.plain(language) } ?? f.found
                var paragraphs: [(String?, String)] = [
                    (nil, w.breachIntro(f.agency.name, found, c.childName ?? w.yourChild)),
                    (w.breachWhatHappened, f.description ?? "—"),
                    (w.breachInformation, c.information.map(\.label).joined(separator: "; ")),
                    (w.breachRecipients, f.recipients.map(\.name).joined(separator: ", ")),
                ]
                if let reference = f.commissionerReference { paragraphs.append((nil, w.breachCommissioner(reference))) }
                paragraphs.append(
                    (w.rightsTitle, w.breachContact(f.agency.contact ?? w.noContact) + " " + w.complain)
                )
                paragraphs.append((nil, w.reference(String(f.index))))
                return Part(language: language, title: w.breachTitle, note: w.reviewNote, paragraphs: paragraphs)
            }
        )
    }
}

extension Day {
    /// The date in words in `language`: "1 December 2026", "1 Hakihea 2026".
    public func plain(_ language: DocumentLanguage) -> String {
        switch language {
        case .en: return plain
        case .mi:
            let months = [
                "Kohitātea", "Huitanguru", "Poutūterangi", "Paengawhāwhā", "Haratua", "Pipiri", "Hōngongoi",
                "Hereturikōkā", "Mahuru", "Whiringa-ā-nuku", "Whiringa-ā-rangi", "Hakihea",
            ]
            let (y, m, d) = components
            return "\(d) \(months[max(0, min(11, m - 1))]) \(y)"
        }
    }
}
