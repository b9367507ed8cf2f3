import Foundation
public import TiakiModel

/// The seven checklist items of a consent in plain words, one line each, as a receipt and a report show them.
public enum ConsentSummary {
    /// Plain words for a code: the vocabulary's label where there is one, else the code.
    public typealias Labels = [String: String]

    /// The labels of every code of `vocabulary` in `language` (English where it has none in that language; codes
    /// are unique across dimensions in practice; the first wins).
    public static func labels(_ vocabulary: Vocabulary, language: String = "en") -> Labels {
        var labels: Labels = [:]
        for d in Vocabulary.Dimension.allCases {
            for code in vocabulary.codes(d) where labels[code] == nil {
                labels[code] = vocabulary.label(code, in: d, language: language)
            }
        }
        return labels
    }

    public static func lines(_ t: ConsentTerms, labels: Labels) -> [String] {
        func words(_ codes: [String]) -> String { codes.map { labels[$0] ?? $0 }.joined(separator: "; ") }
        var audience: [String] = []
        if !t.audience.kinds.isEmpty { audience.append(words(t.audience.kinds)) }
        if !t.audience.organisations.isEmpty {
            audience.append("these organisations: " + t.audience.organisations.joined(separator: ", "))
        }
        let until = Day(t.retention.until)?.plain ?? t.retention.until
        return [
            "1. Why it is shared: \(words(t.purposes)).",
            "2. What information: \(words(t.information)).",
            "3. Who will see it: \(audience.joined(separator: "; ")).",
            "4. How it is shared and stored: \(words(t.sharing.channels)); stored in \(words(t.sharing.storageRegions)); "
                + "protected by \(t.sharing.protection).",
            "5. When it comes off the register: \(until)"
                + (t.retention.event.map { ", or earlier if \($0)" } ?? "") + ".",
            "6. How to check and correct it: \(t.accuracy.method) (\(t.accuracy.contact)).",
            "7. If you decline or withdraw: \(t.withdrawal.effect). To withdraw: \(t.withdrawal.how).",
        ]
    }

    /// The seven items as a report for the whānau writes them: whole sentences, organisations by name, each ending
    /// in one full stop. (A receipt keeps ``lines(_:labels:)``, which its signature-checked summary was made with.)
    public static func plainLines(
        _ t: ConsentTerms,
        labels: Labels,
        organisation: (String) -> String,
        words w: NoticeWords = .english
    ) -> [String] {
        func words(_ codes: [String], or: Bool = false) -> String {
            let items = codes.map { labels[$0] ?? $0 }
            return or ? w.alternatives(items) : list(items, joiner: w.and)
        }
        var audience: [String] = t.audience.kinds.map { labels[$0] ?? $0 }
        audience += t.audience.organisations.map(organisation)
        let until = Day(t.retention.until).map { date($0, w) } ?? t.retention.until
        let h = w.itemHeadings
        return [
            "1. \(h[0]): \(words(t.purposes)).",
            "2. \(h[1]): \(words(t.information)).",
            "3. \(h[2]): \(list(audience, joiner: w.and)).",
            "4. \(h[3]): \(words(t.sharing.channels, or: true)); \(w.keptIn) \(words(t.sharing.storageRegions)). \(w.protectedBy) "
                + sentence(t.sharing.protection),
            "5. \(h[4]): \(until)"
                + (t.retention.event.map { ", \(w.orEarlierIf) \(trimmed($0))" } ?? "")
                + ".",
            "6. \(h[5]): " + sentence(t.accuracy.method) + " \(w.contact) " + sentence(t.accuracy.contact),
            "7. \(h[6]): " + sentence(t.withdrawal.effect) + " \(w.toWithdraw) " + sentence(t.withdrawal.how),
        ]
    }

    /// A day in words ("30 June 2027", "30 Pipiri 2027").
    public static func date(_ day: Day, _ w: NoticeWords) -> String {
        let (y, m, d) = day.components
        return "\(d) \(w.months[m - 1]) \(y)"
    }

    /// Free text without its closing full stop and spaces.
    public static func trimmed(_ text: String) -> String {
        var t = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        while let last = t.last, last == "." || last == " " { t = t.dropLast() }
        return String(t)
    }

    /// Free text as one sentence: a capital first letter and one full stop.
    public static func sentence(_ text: String) -> String {
        let t = trimmed(text)
        guard !t.isEmpty else { return "" }
        if let last = t.last, "!?".contains(last) { return capitalised(t) }
        return capitalised(t) + "."
    }

    public static func capitalised(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst()
    }

    /// "a", "a and b", "a; b and c" (or "or").
    public static func list(_ items: [String], or: Bool = false) -> String {
        list(items, joiner: or ? "or" : "and")
    }

    /// A list joined by a word of any language ("and", "me").
    public static func list(_ items: [String], joiner: String) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: "; ") + " \(joiner) " + (items.last ?? "")
        }
    }
}
