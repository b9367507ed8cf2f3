/// The roles a credential can have (DESIGN.md, "HTTP API").
public enum Role: String, Sendable, CaseIterable, Codable {
    case member
    case facilitator
    case privacyOfficer = "privacy-officer"
    case auditor
    case admin

    /// The roles in words, for messages ("member, facilitator, …").
    public static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
