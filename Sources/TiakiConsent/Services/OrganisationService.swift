import Foundation
public import TiakiModel

/// What an admin gives to register an organisation.
public struct OrganisationInput: Sendable, Codable {
    public var id: String
    public var kind: String
    public var name: String
    /// A postal or email address people can write to.
    public var contact: String?
    /// The law under which it collects information, if any.
    public var law: String?

    public init(id: String, kind: String, name: String, contact: String? = nil, law: String? = nil) {
        self.id = id
        self.kind = kind
        self.name = name
        self.contact = contact
        self.law = law
    }
}

/// The organisations of the cluster.
public struct OrganisationService: Sendable {
    let core: LedgerCore

    /// Registers an organisation (`org.registered`).
    public func register(_ input: OrganisationInput, actor: EntryActor = .system) async throws -> Recorded {
        guard LedgerCore.isIdentifier(input.id) else {
            throw TiakiError(
                .invalid,
                "an organisation id is 1 to 64 lower-case letters, digits and '-'",
                field: "id"
            )
        }
        try core.requireCode(input.kind, .organisationKind, field: "kind")
        // Lengths are counted in Unicode scalars, as the OpenAPI document's JSON Schema counts them.
        try FreeText.check(input.name, field: "name", limit: 200)
        for (value, field) in [(input.contact, "contact"), (input.law, "law")] {
            guard let value else { continue }
            guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, value.unicodeScalars.count <= 500,
                !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }),
                FreeText.forbidden(in: value, multiline: true) == nil
            else {
                throw TiakiError(
                    .invalid,
                    "\(field) must be 1 to 500 characters (lines may be separated by newlines)",
                    field: field
                )
            }
        }
        guard core.read({ $0.organisations[input.id] == nil }) else {
            throw TiakiError(.conflict, "organisation \(input.id) is already registered", field: "id")
        }
        return try await core.append(
            ConsentEntry(
                actor: actor,
                body: OrganisationRegistered(
                    id: input.id,
                    kind: input.kind,
                    name: input.name,
                    contact: input.contact,
                    law: input.law
                )
            )
        )
    }

    /// The registered organisations, by id.
    public func all() -> [String: ConsentState.Organisation] { core.read { $0.organisations } }
}
