/// The roles a credential can have (docs/api.md, "Who may do what"; `Action` says what each may do).
public enum Role: String, Sendable, CaseIterable, Codable {
    case member
    case facilitator
    case privacyOfficer = "privacy-officer"
    case auditor
    case admin

    /// The roles in words, for messages ("member, facilitator, …").
    public static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
