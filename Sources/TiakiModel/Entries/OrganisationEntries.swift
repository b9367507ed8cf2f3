extension EntryKind {
    public static let organisationRegistered = EntryKind(rawValue: "org.registered")
    public static let credentialIssued = EntryKind(rawValue: "credential.issued")
    public static let credentialRevoked = EntryKind(rawValue: "credential.revoked")
    public static let policyPublished = EntryKind(rawValue: "policy.published")
}

/// An organisation of the cluster (school, kura, early learning service, RTLB service, agency …).
public struct OrganisationRegistered: EntryBody {
    public static let kind = EntryKind.organisationRegistered
    public var id: String
    public var kind: String
    public var name: String
    /// Where people write to it: a postal address or an email address (absent in early entries).
    public var contact: String?
    /// The law under which it collects information, if any (e.g. the Education and Training Act 2020, ss 34
    /// and 165, for learning support).
    public var law: String?

    public init(id: String, kind: String, name: String, contact: String? = nil, law: String? = nil) {
        self.id = id
        self.kind = kind
        self.name = name
        self.contact = contact
        self.law = law
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        guard state.organisations[id] == nil else { return }
        state.organisations[id] = .init(
            id: id,
            kind: kind,
            name: name,
            registered: entry.index,
            contact: contact,
            law: law
        )
    }
}

/// A credential issued to an organisation: its id and role, never its token.
public struct CredentialIssued: EntryBody {
    public static let kind = EntryKind.credentialIssued
    public var id: String
    public var org: String
    public var role: String

    public init(id: String, org: String, role: String) {
        self.id = id
        self.org = org
        self.role = role
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        state.credentials[id] = .init(id: id, org: org, role: role, issued: entry.index)
    }
}

public struct CredentialRevoked: EntryBody {
    public static let kind = EntryKind.credentialRevoked
    public var id: String

    public init(id: String) { self.id = id }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        if state.credentials[id]?.revoked == nil { state.credentials[id]?.revoked = entry.index }
    }
}

/// A policy set, recorded whole when it becomes the current one, so a past decision can be replayed under it.
public struct PolicyPublished: EntryBody {
    public static let kind = EntryKind.policyPublished
    /// `sha256:` and the hex digest of the policy set.
    public var digest: String
    /// File name → content.
    public var files: [String: String]

    public init(digest: String, files: [String: String]) {
        self.digest = digest
        self.files = files
    }

    public func apply(to state: inout ConsentState, entry: ConsentEntry.Header) {
        if state.policies[digest] == nil { state.policies[digest] = entry.index }
        state.currentPolicy = digest
    }
}
