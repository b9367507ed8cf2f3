public import Foundation

/// The clock on the wall where the people who use Tiaki live: which day it is, and how a time is written for them.
///
/// A school in Auckland lives on `Pacific/Auckland`: "today", the day written into a withdrawal, a due day and a
/// printed date all follow it, and times carry NZST or NZDT. Entries keep their UTC times; only what is judged or
/// shown as a day is local.
public struct LocalTime: Sendable, Hashable {
    public let zone: TimeZone

    public init(zone: TimeZone) { self.zone = zone }

    /// The zone by its IANA name (`Pacific/Auckland`); `nil` when there is no such zone.
    public init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.zone = zone
    }

    /// New Zealand's time (NZST, +12; NZDT, +13 from the last Sunday of September to the first Sunday of April).
    public static let newZealand = LocalTime(zone: TimeZone(identifier: "Pacific/Auckland") ?? nzStandard)
    /// UTC, for simulations and samples whose calendar is their own.
    public static let utc = LocalTime(zone: TimeZone(secondsFromGMT: 0) ?? nzStandard)
    // Only if the system has no zone data at all: New Zealand standard time without daylight saving.
    private static let nzStandard = TimeZone(secondsFromGMT: 12 * 3600) ?? TimeZone.current

    /// Seconds ahead of UTC at `moment`.
    public func offset(at moment: Moment) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(moment.seconds)))
    }

    /// The local day at `date`.
    public func day(_ date: Date) -> Day { day(Moment(date)) }

    /// The local day at `moment`.
    public func day(_ moment: Moment) -> Day { Moment(seconds: moment.seconds + Int64(offset(at: moment))).day }

    /// The zone's short name at `moment`: NZST or NZDT in New Zealand, the system's name elsewhere.
    public func abbreviation(at moment: Moment) -> String {
        let offset = offset(at: moment)
        if zone.identifier == "Pacific/Auckland" || zone.identifier == "NZ" {
            return offset == 13 * 3600 ? "NZDT" : "NZST"
        }
        if offset == 0 { return "UTC" }
        return zone.abbreviation(for: Date(timeIntervalSince1970: TimeInterval(moment.seconds))) ?? "UTC"
    }

    /// The time of day in words: "9:30 am NZDT".
    public func time(_ moment: Moment) -> String {
        let local = moment.seconds + Int64(offset(at: moment))
        let rest = local - Int64(Moment(seconds: local).day.number) * 86_400
        let h = Int(rest / 3600)
        let m = Int(rest % 3600 / 60)
        let hour12 = h % 12 == 0 ? 12 : h % 12
        return "\(hour12):\(m < 10 ? "0" : "")\(m) \(h < 12 ? "am" : "pm") \(abbreviation(at: moment))"
    }

    /// A moment in words: "1 December 2026, 9:30 am NZDT".
    public func plain(_ moment: Moment) -> String { "\(day(moment).plain), \(time(moment))" }

    /// The moment a wall-clock time happens on `day` here. A time the clock skips (the hour daylight time starts)
    /// is read as if the clock had not moved; a time it shows twice (the hour it ends) as the first.
    public func moment(on day: Day, hour: Int, minute: Int) -> Moment {
        let wall = Int64(day.number) * 86_400 + Int64(hour * 3600 + minute * 60)
        // The offset before and after: try each, keep the first that reads back as the same wall time.
        let before = offset(at: Moment(seconds: wall - 14 * 3600))
        let after = offset(at: Moment(seconds: wall + 14 * 3600))
        for candidate in [max(before, after), min(before, after)] {
            let m = Moment(seconds: wall - Int64(candidate))
            if offset(at: m) == candidate { return m }
        }
        return Moment(seconds: wall - Int64(before))
    }
}
