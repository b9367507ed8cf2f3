public import TiakiModel

/// Who is asking: the credential, its organisation and its role. Services decide what each may see with it; the
/// HTTP layer and the pages only say who is asking.
public struct Caller: Sendable, Hashable {
    public var credential: String
    public var org: String
    public var role: Role

    public init(credential: String, org: String, role: Role) {
        self.credential = credential
        self.org = org
        self.role = role
    }

    public init(_ credential: Credential) {
        self.init(credential: credential.id, org: credential.org, role: credential.role)
    }

    /// The actor an entry this caller causes names.
    public var actor: EntryActor { EntryActor(org: org, credential: credential) }

    /// Whether the caller may see this child at all: members, a child their organisation knows; every other role,
    /// any child (what each may read of them is the service's to say).
    public func may(see subject: ConsentState.Subject) -> Bool {
        role != .member || subject.isKnown(to: org)
    }
}
