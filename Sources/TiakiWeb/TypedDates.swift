import Foundation
import TiakiModel

/// Dates and times as people in New Zealand type them on a form: day first (31/12/2027, 31-12-2027, 31 Dec 2027,
/// 31 December 2027, 31 Hakihea 2027), or the ISO form a date picker sends (2027-12-31); a month as 06/2015,
/// June 2015 or 2015-06; a time as 9:30 am, 9.30pm or 21:30. The API takes ISO only; these are the pages'.
enum TypedDates {
    /// Month names and their short forms, English and te reo Māori, lower-cased, to the month's number.
    static let months: [String: Int] = {
        let english = [
            "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
            "november", "december",
        ]
        let maori = [
            "kohitātea", "huitanguru", "poutūterangi", "paengawhāwhā", "haratua", "pipiri", "hōngongoi",
            "hereturikōkā", "mahuru", "whiringa-ā-nuku", "whiringa-ā-rangi", "hakihea",
        ]
        var out: [String: Int] = [:]
        for (i, name) in english.enumerated() {
            out[name] = i + 1
            out[String(name.prefix(3))] = i + 1
            if name.count > 4 { out[String(name.prefix(4))] = i + 1 }  // "sept", "june"
        }
        for (i, name) in maori.enumerated() {
            out[name] = i + 1
            // Typed without macrons too.
            out[name.folding(options: .diacriticInsensitive, locale: nil)] = i + 1
        }
        return out
    }()

    /// The parts of what was typed: runs of digits and runs of letters, in order.
    static func parts(_ text: String) -> [Substring] {
        var out: [Substring] = []
        var start: String.Index?
        var kind = 0
        for i in text.indices {
            let c = text[i]
            let k = c.isNumber ? 1 : (c.isLetter || c == "-" && kind == 2 ? 2 : 0)
            if k != kind {
                if let s = start, kind != 0 { out.append(text[s..<i]) }
                start = k == 0 ? nil : i
                kind = k
            }
        }
        if let s = start, kind != 0 { out.append(text[s...]) }
        return out
    }

    static func year(_ part: Substring) -> Int? {
        guard let n = Int(part) else { return nil }
        if part.count == 4 { return n }
        if part.count == 2 { return 2000 + n }
        return nil
    }

    static func month(_ part: Substring) -> Int? {
        if let n = Int(part), (1...12).contains(n), part.count <= 2 { return n }
        let name = part.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return months[name] ?? months[name.folding(options: .diacriticInsensitive, locale: nil)]
    }

    /// A day typed day first, or as ISO; `nil` when it is not one (or is a day that does not exist).
    static func day(_ typed: String) -> Day? {
        let text = typed.trimmingCharacters(in: .whitespaces)
        if let iso = Day(text) { return iso }
        let p = parts(text)
        guard p.count == 3 else { return nil }
        // 2027 12 31 typed with other separators
        if p[0].count == 4, let y = Int(p[0]), let m = month(p[1]), let d = Int(p[2]), p[2].count <= 2 {
            return make(y, m, d)
        }
        guard let d = Int(p[0]), p[0].count <= 2, let m = month(p[1]), let y = year(p[2]) else { return nil }
        return make(y, m, d)
    }

    static func make(_ y: Int, _ m: Int, _ d: Int) -> Day? {
        Day(String(format: "%04d-%02d-%02d", y, m, d))
    }

    /// A month typed as 06/2015, June 2015 or 2015-06: `YYYY-MM`.
    static func month(_ typed: String) -> String? {
        let text = typed.trimmingCharacters(in: .whitespaces)
        let p = parts(text)
        guard p.count == 2 else { return nil }
        let yearFirst = p[0].count == 4 && Int(p[0]) != nil
        let (y, m): (Int?, Int?) = yearFirst ? (Int(p[0]), month(p[1])) : (Int(p[1]), month(p[0]))
        guard let y, let m, (yearFirst ? p[0] : p[1]).count == 4 else { return nil }
        return String(format: "%04d-%02d", y, m)
    }

    /// A moment typed as a day and a time of day (1/12/2026 9:30 am, 1 Dec 2026 21:30) in `local` time, or as
    /// RFC 3339 (2026-12-01T09:30:00+13:00).
    static func moment(_ typed: String, in local: LocalTime) -> Moment? {
        let text = typed.trimmingCharacters(in: .whitespaces)
        if let exact = Moment(text) { return exact }
        // The time is what follows the day's three parts: h[:.]mm and am/pm.
        let p = parts(text)
        guard p.count >= 4, let day = day(p[0...2].joined(separator: " ")) else { return nil }
        let rest = Array(p[3...])
        guard let hour = Int(rest[0]), rest[0].count <= 2 else { return nil }
        var minute = 0
        var i = 1
        if i < rest.count, let m = Int(rest[i]), rest[i].count == 2 {
            minute = m
            i += 1
        }
        var h = hour
        if i < rest.count {
            switch rest[i].lowercased() {
            case "am", "a": if h == 12 { h = 0 }
            case "pm", "p": if h < 12 { h += 12 }
            default: return nil
            }
            guard hour >= 1, hour <= 12 else { return nil }
            i += 1
        }
        guard i == rest.count, h < 24, minute < 60 else { return nil }
        return local.moment(on: day, hour: h, minute: minute)
    }
}

extension Day {
    /// As people write it in `language`: "2 March 2026", "2 Poutūterangi 2026".
    func plain(in language: String) -> String {
        guard language == "mi" else { return plain }
        let months = [
            "Kohitātea", "Huitanguru", "Poutūterangi", "Paengawhāwhā", "Haratua", "Pipiri", "Hōngongoi",
            "Hereturikōkā", "Mahuru", "Whiringa-ā-nuku", "Whiringa-ā-rangi", "Hakihea",
        ]
        let (y, m, d) = components
        return "\(d) \(months[max(0, min(11, m - 1))]) \(y)"
    }

    /// As a form shows it for changing: 31/12/2027.
    var typed: String {
        let (y, m, d) = components
        return String(format: "%02d/%02d/%04d", d, m, y)
    }
}
