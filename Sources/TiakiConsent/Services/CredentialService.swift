import Foundation
import Synchronization
import TiakiLedger
public import TiakiModel

/// What an admin gives to issue a credential.
public struct CredentialInput: Sendable, Codable {
    public var org: String
    /// One of ``Role``'s raw values.
    public var role: String
    /// Who holds it and what for ("KAMAR nightly sync", "the office's shared credential"): shown to admins beside
    /// the credential, so that a revocation names what it stops. Kept in the vault, never in the ledger.
    public var holder: String

    public init(org: String, role: Role, holder: String) {
        self.org = org
        self.role = role.rawValue
        self.holder = holder
    }
}

/// Who a bearer token belongs to.
public struct Credential: Sendable, Hashable {
    public var id: String
    public var org: String
    public var role: Role
}

/// A credential just issued, with its bearer token: shown once, stored only as a hash.
public struct IssuedCredential: Sendable {
    public let recorded: Recorded
    public let id: String
    public let org: String
    public let role: Role
    public let token: String
}

/// A credential as an admin sees it: never its token.
public struct CredentialSummary: Sendable, Hashable {
    public var id: String
    public var org: String
    public var role: String
    /// Who holds it and for what; `nil` for credentials issued before holders were asked.
    public var holder: String?
    /// When it was issued (the entry's time) and when it was last used (to the minute), if ever.
    public var issued: Moment?
    public var lastUsed: Moment?
    public var revoked: Bool
}

/// Credentials and signing in.
public final class CredentialService: Sendable {
    let core: LedgerCore
    /// Token hash → credential, filled on first use: tokens never change, and revocation is checked against the
    /// consent state on every call.
    private let cache = Mutex<[Data: Credential]>([:])
    /// When each credential's use was last written to the vault: at most once per ``useResolution`` each.
    private let usesWritten = Mutex<[String: Int64]>([:])
    static let useResolution: Int64 = 60

    init(core: LedgerCore) { self.core = core }

    /// Issues a credential and returns its bearer token, which is shown once and stored only as a hash.
    public func issue(_ input: CredentialInput, actor: EntryActor = .system) async throws -> IssuedCredential {
        guard let role = Role(rawValue: input.role) else {
            let hint = nearest(input.role, in: Role.allCases.map(\.rawValue)).map { "did you mean \($0)? " } ?? ""
            throw TiakiError(
                .invalid,
                "\(input.role) is not a role; \(hint)a role is one of \(Role.list)",
                field: "role"
            )
        }
        try core.requireOrganisation(input.org, field: "org")
        try FreeText.check(input.holder, field: "holder", limit: 200)
        let id = "cred-" + core.vault.random.hex(6)
        // Tokens always come from the system generator, even in a seeded simulation.
        let token = "tiaki_" + RandomSource.system.hex(24)
        try core.vault.storeCredential(
            id: id,
            org: input.org,
            role: role.rawValue,
            token: token,
            holder: FreeText.trimmed(input.holder)
        )
        let recorded = try await core.append(
            ConsentEntry(actor: actor, body: CredentialIssued(id: id, org: input.org, role: role.rawValue))
        )
        return IssuedCredential(recorded: recorded, id: id, org: input.org, role: role, token: token)
    }

    /// The credential a bearer token belongs to, if it is known and not revoked.
    ///
    /// The token is hashed and looked up by its hash, so nothing is compared with the secret itself; the stored
    /// hash is then compared in constant time.
    public func authenticate(token: String) throws -> Credential? {
        guard !token.isEmpty, token.utf8.count <= 256 else { return nil }
        let hash = SubjectVault.hash(token: token)
        let known: Credential
        if let cached = cache.withLock({ $0[hash] }) {
            known = cached
        } else {
            guard let found = try core.vault.credential(hash: hash),
                SubjectVault.constantTimeEqual(found.hash, hash),
                !found.revoked, let role = Role(rawValue: found.role)
            else { return nil }
            known = Credential(id: found.id, org: found.org, role: role)
            cache.withLock { $0[hash] = known }
        }
        // The ledger is the record: a credential revoked there is revoked, whatever the table or cache says.
        guard caller(credential: known.id) != nil else { return nil }
        used(known.id)
        return known
    }

    /// The caller a credential stands for now, or `nil` once it is revoked (or was never issued). A page's session
    /// asks this on every request, so that a revocation ends it at once.
    public func caller(credential id: String) -> Caller? {
        core.read { state in
            guard let c = state.credentials[id], c.revoked == nil, let role = Role(rawValue: c.role) else { return nil }
            return Caller(credential: id, org: c.org, role: role)
        }
    }

    /// Notes that a credential was used, in the vault, at most once a minute for each.
    func used(_ id: String) {
        let now = core.now.seconds
        let due = usesWritten.withLock { written in
            guard now - (written[id] ?? 0) >= Self.useResolution else { return false }
            written[id] = now
            return true
        }
        guard due else { return }
        // A failed write only leaves the last use older than it is; it never refuses the caller.
        try? core.vault.credentialUsed(id: id, at: Moment(seconds: now - now % 60).description)
    }

    /// Every credential, oldest first, with who holds it and when it was last used.
    public func list() throws -> [CredentialSummary] {
        let stored = Dictionary(try core.vault.credentials().map { ($0.id, $0) }) { a, _ in a }
        let known = core.read { $0.credentials.values.sorted { $0.issued < $1.issued } }
        let entries = try core.entries(at: known.map(\.issued))
        return known.map { c in
            CredentialSummary(
                id: c.id,
                org: c.org,
                role: c.role,
                holder: stored[c.id]?.holder,
                issued: entries[c.issued].flatMap { Moment($0.time) },
                lastUsed: stored[c.id]?.lastUsed.flatMap(Moment.init),
                revoked: c.revoked != nil
            )
        }
    }

    public func revoke(id: String, actor: EntryActor = .system) async throws -> Recorded {
        let known = core.read { $0.credentials[id] }
        guard let known else { throw TiakiError(.unknownCredential, "no credential \(id)", field: "id") }
        guard known.revoked == nil else {
            throw TiakiError(.conflict, "credential \(id) is already revoked", field: "id")
        }
        try core.vault.revokeCredential(id: id)
        return try await core.append(ConsentEntry(actor: actor, body: CredentialRevoked(id: id)))
    }
}
