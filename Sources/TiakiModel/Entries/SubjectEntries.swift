extension EntryKind {
    public static let subjectRegistered = EntryKind(rawValue: "subject.registered")
    public static let subjectEnrolled = EntryKind(rawValue: "subject.enrolled")
    public static let subjectErased = EntryKind(rawValue: "subject.erased")
}

/// A child, known to the ledger only by a random subject id: the organisation that first registered them, the
/// birth month the policy's age rules need, and sealed personal details.
public struct SubjectRegistered: EntryBody {
    public static let kind = EntryKind.subjectRegistered
    /// The organisation that registered the subject (their school, kura or service).
    public var org: String
    /// Year and month of birth, `YYYY-MM`: enough for the policy's age rules, less than a birth date.
    public var birthMonth: String
    public var nameSealed: Sealed?
    public var notesSealed: Sealed?

    public init(org: String, birthMonth: String, nameSealed: Sealed? = nil, notesSealed: Sealed? = nil) {
        self.org = org
        self.birthMonth = birthMonth
        self.nameSealed = nameSealed
        self.notesSealed = notesSealed
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard let id = entry.subject, state.subjects[id] == nil else { return }
        state.subjects[id] = .init(
            id: id,
            org: org,
            birthMonth: birthMonth,
            born: Day.parseMonth(birthMonth),
            registered: entry.index
        )
    }
}

/// Another organisation now knows the child too (a transition, or a specialist service taking them on): it keeps
/// its own records of the child, and sees what was shared with it.
public struct SubjectEnrolled: EntryBody {
    public static let kind = EntryKind.subjectEnrolled
    /// The organisation enrolling the child.
    public var org: String
    /// The birth month this organisation gave (kept as given; the first registration's is the one rules use).
    public var birthMonth: String
    public var nameSealed: Sealed?
    public var notesSealed: Sealed?

    public init(org: String, birthMonth: String, nameSealed: Sealed? = nil, notesSealed: Sealed? = nil) {
        self.org = org
        self.birthMonth = birthMonth
        self.nameSealed = nameSealed
        self.notesSealed = notesSealed
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard let id = entry.subject, let subject = state.subjects[id], !subject.enrolments.contains(org) else {
            return
        }
        state.subjects[id]?.enrolments.append(org)
    }
}

/// The child's personal details were erased: their key and lookup rows are destroyed.
public struct SubjectErased: EntryBody {
    public static let kind = EntryKind.subjectErased

    public enum Reason: String, Sendable, Hashable, Codable, CaseIterable {
        case retentionEnded = "retention-ended"
        case request
    }

    public var reason: Reason
    public var date: String

    public init(reason: Reason, date: String) {
        self.reason = reason
        self.date = date
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        if let subject = entry.subject, state.subjects[subject]?.erased == nil {
            state.subjects[subject]?.erased = (entry.index, date)
        }
    }
}
