public import Foundation

/// A calendar day (`YYYY-MM-DD`), counted in days since 1970-01-01, for retention and age rules.
public struct Day: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let number: Int32

    public init(number: Int32) { self.number = number }

    /// Written as its number (days since 1970-01-01), as a state snapshot keeps it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(number)
    }

    public init(from decoder: any Decoder) throws {
        number = try decoder.singleValueContainer().decode(Int32.self)
    }

    /// Parses `YYYY-MM-DD`, refusing dates that do not exist (2026-02-30).
    public init?(_ text: String) {
        var fields = (0, 0, 0)
        var count = 0
        for (i, c) in text.utf8.enumerated() {
            count += 1
            switch i {
            case 4, 7:
                guard c == 0x2D else { return nil }
            case 0..<10:
                guard c >= 0x30, c <= 0x39 else { return nil }
                let digit = Int(c - 0x30)
                if i < 4 {
                    fields.0 = fields.0 * 10 + digit
                } else if i < 7 {
                    fields.1 = fields.1 * 10 + digit
                } else {
                    fields.2 = fields.2 * 10 + digit
                }
            default:
                return nil
            }
        }
        let (y, m, d) = fields
        guard count == 10, (1...12).contains(m), d >= 1, d <= Day.daysInMonth(y, m) else { return nil }
        number = Int32(Day.daysFromCivil(y, m, d))
    }

    /// Parses `YYYY-MM`.
    public static func parseMonth(_ text: String) -> (year: Int, month: Int)? {
        guard let day = Day(text + "-01") else { return nil }
        let (y, m, _) = day.components
        return (y, m)
    }

    public init(_ date: Date) {
        number = Int32((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public var components: (year: Int, month: Int, day: Int) {
        let z = Int(number) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public var description: String {
        let (y, m, d) = components
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    /// As people write it: `2 March 2026`.
    public var plain: String {
        let offset = Int(number) - Day.plainTableStart
        if offset >= 0, offset < Day.plainTable.count { return Day.plainTable[offset] }
        return Day.spell(self)
    }

    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]

    /// The month's English name (1 January … 12 December).
    public static func monthName(_ month: Int) -> String { monthNames[max(1, min(12, month)) - 1] }

    static func spell(_ day: Day) -> String {
        let (y, m, d) = day.components
        return "\(d) \(monthNames[m - 1]) \(y)"
    }

    /// The days from 2000 to 2099 spelled out once, as decisions and reports write them many times over.
    static let plainTableStart = Int(Day.daysFromCivil(2000, 1, 1))
    static let plainTable: [String] = (plainTableStart..<Int(Day.daysFromCivil(2100, 1, 1))).map {
        spell(Day(number: Int32($0)))
    }

    public static func < (a: Day, b: Day) -> Bool { a.number < b.number }

    /// Completed years from `YYYY-MM` of birth to this day, counting the person as born on the first of the
    /// month: never less than their true age, so rules that start at an age apply no later than they should.
    public func age(bornIn birthMonth: String) -> Int? {
        Day.parseMonth(birthMonth).map { age(bornInYear: $0.year, month: $0.month) }
    }

    public func age(bornInYear y: Int, month m: Int) -> Int {
        let (ty, tm, _) = components
        return ty - y - (tm < m ? 1 : 0)
    }
}
