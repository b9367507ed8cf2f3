public import Hummingbird
import Logging
public import NIOCore
public import TiakiConsent
import TiakiModel

/// The request context: Hummingbird's core storage and the authenticated caller, if any.
public struct TiakiRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    /// The peer's address, for counting failed sign-ins.
    public let remoteAddress: SocketAddress?

    public init(source: Source) {
        coreContext = .init(source: source)
        caller = nil
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text; "unknown" when the channel has none (tests). Formatted only when needed.
    var source: String { remoteAddress?.ipAddress ?? "unknown" }

    /// The caller, or 401.
    func authenticated() throws -> Caller {
        guard let caller else { throw Problem.unauthorized }
        return caller
    }

    /// The caller if their role is one of `roles`, else 403 saying which role is needed (401 when not signed in).
    func require(_ roles: Role...) throws -> Caller {
        let caller = try authenticated()
        guard roles.contains(caller.role) else { throw Problem.forbidden(needs: roles, has: caller.role) }
        return caller
    }
}
