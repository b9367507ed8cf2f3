public import Foundation

/// A moment in time to the second, read from RFC 3339 (`2026-12-01T09:30:00+13:00`, `…Z`, seconds and fractions
/// optional) and written in UTC (`2026-11-30T20:30:00Z`): breach clocks run in hours.
public struct Moment: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public init(_ date: Date) { seconds = Int64(date.timeIntervalSince1970.rounded(.down)) }

    /// The start of a day in UTC.
    public init(_ day: Day) { seconds = Int64(day.number) * 86_400 }

    public init?(_ text: String) {
        let b = Array(text.utf8)
        guard b.count >= 17, b.count <= 40, b[10] == 0x54 || b[10] == 0x74, let day = Day(String(text.prefix(10)))
        else { return nil }
        func number(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for c in b[at..<(at + n)] {
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard let hour = number(11, 2), b[13] == 0x3A, let minute = number(14, 2), hour < 24, minute < 60 else {
            return nil
        }
        var i = 16
        var second = 0
        if i < b.count, b[i] == 0x3A {
            guard let s = number(i + 1, 2), s < 61 else { return nil }
            second = min(s, 59)
            i += 3
            if i < b.count, b[i] == 0x2E {
                i += 1
                let start = i
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
                guard i > start else { return nil }
            }
        }
        var offset = 0
        guard i < b.count else { return nil }
        switch b[i] {
        case 0x5A, 0x7A:
            i += 1
        case 0x2B, 0x2D:
            guard let h = number(i + 1, 2), b.count > i + 3, b[i + 3] == 0x3A, let m = number(i + 4, 2), h < 24,
                m < 60
            else { return nil }
            offset = (h * 60 + m) * 60 * (b[i] == 0x2D ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == b.count else { return nil }
        seconds = Int64(day.number) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    }

    public var day: Day {
        Day(number: Int32(truncatingIfNeeded: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400))
    }

    public func adding(hours: Int) -> Moment { Moment(seconds: seconds + Int64(hours) * 3600) }

    public var description: String {
        let d = day
        let rest = seconds - Int64(d.number) * 86_400
        let h = rest / 3600
        let m = rest % 3600 / 60
        let s = rest % 60
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(d.description)T\(two(h)):\(two(m)):\(two(s))Z"
    }

    /// In words, in New Zealand time, with NZST or NZDT: "1 December 2026, 9:30 am NZDT" (see ``LocalTime``).
    public var plainNZ: String { LocalTime.newZealand.plain(self) }

    /// The day in New Zealand.
    public var nzDay: Day { LocalTime.newZealand.day(self) }

    public static func < (a: Moment, b: Moment) -> Bool { a.seconds < b.seconds }
}

extension Day {
    /// 0 Monday … 6 Sunday (1 January 1970, day 0, was a Thursday).
    public var weekday: Int { ((Int(number) % 7) + 7 + 3) % 7 }

    static func paddedDate(_ y: Int, _ m: Int, _ d: Int) -> String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d))"
    }
}
