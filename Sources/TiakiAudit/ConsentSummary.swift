public import TiakiModel

/// The seven checklist items of a consent in plain words, one line each, as a receipt and a report show them.
public enum ConsentSummary {
    /// Plain words for a code: the vocabulary's label where there is one, else the code.
    public typealias Labels = [String: String]

    /// The labels of every code of `vocabulary` (codes are unique across dimensions in practice; the first wins).
    public static func labels(_ vocabulary: Vocabulary) -> Labels {
        var labels: Labels = [:]
        for d in Vocabulary.Dimension.allCases {
            for code in vocabulary.codes(d) where labels[code] == nil { labels[code] = vocabulary.label(code, in: d) }
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
}
