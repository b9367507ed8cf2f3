/// How long the duties after a share may take: the cluster's policy (`duties:` in `Policies/`), with the defaults
/// the Privacy Act and the Commissioner's guidance suggest.
public struct Duties: Sendable, Hashable {
    /// IPP 3A: working days a recipient has to tell the whānau it collected information about the child ("as soon
    /// as reasonably practicable").
    public var collectionNoticeWorkingDays = 10
    /// Days a recipient told of a withdrawal has to acknowledge it.
    public var withdrawalAcknowledgeDays = 10
    /// Hours from finding a privacy breach to assessing whether it is likely to cause serious harm.
    public var breachAssessmentHours = 72
    /// Hours from finding a notifiable breach to notifying the Commissioner and the affected people (the
    /// Commissioner asks for 72).
    public var breachNotificationHours = 72
    /// Days before a consent comes off the register that the school is reminded to ask about renewing it.
    public var renewalWindowDays = 30
    /// The information codes whose disclosure in a breach is sensitive (health, behaviour, …): a breach report
    /// names them first.
    public var sensitiveInformation: [String] = [
        "health-disability", "behaviour", "stand-down-suspension-exclusion", "specialist-report", "individual-plan",
    ]
    /// Days that are not working days besides Saturdays and Sundays (public holidays, the cluster's closures).
    public var nonWorkingDays: Set<Day> = []

    public init() {}

    /// The day `count` working days after `day`: Saturdays, Sundays and the non-working days do not count.
    public func workingDays(_ count: Int, after day: Day) -> Day {
        var d = day
        var left = max(0, count)
        while left > 0 {
            d = Day(number: d.number + 1)
            if d.isWeekday, !nonWorkingDays.contains(d) { left -= 1 }
        }
        return d
    }

    /// The day by which a collection notice for a share on `day` is due.
    public func collectionNoticeDue(sharedOn day: Day) -> Day { workingDays(collectionNoticeWorkingDays, after: day) }

    /// The day by which a recipient must acknowledge a withdrawal made on `day`.
    public func acknowledgementDue(withdrawnOn day: Day) -> Day {
        Day(number: day.number + Int32(clamping: withdrawalAcknowledgeDays))
    }
}

extension Day {
    /// Monday to Friday.
    public var isWeekday: Bool { weekday < 5 }
}
