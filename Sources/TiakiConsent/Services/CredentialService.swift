import Foundation
import Synchronization
public import TiakiModel

/// What an admin gives to issue a credential.
public struct CredentialInput: Sendable, Codable {
    public var org: String
    /// One of ``Role``'s raw values.
    public var role: String

    public init(org: String, role: Role) {
        self.org = org
        self.role = role.rawValue
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

/// Credentials and signing in.
public final class CredentialService: Sendable {
    let core: LedgerCore
    /// Token hash → credential, filled on first use: tokens never change, and revocation is checked against the
    /// consent state on every call.
    private let cache = Mutex<[Data: Credential]>([:])

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
        let id = "cred-" + core.vault.random.hex(6)
        // Tokens always come from the system generator, even in a seeded simulation.
        let token = "tiaki_" + RandomSource.system.hex(24)
        try core.vault.storeCredential(id: id, org: input.org, role: role.rawValue, token: token)
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
        guard core.read({ $0.credentials[known.id].map { $0.revoked == nil } ?? false }) else { return nil }
        return known
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
