public import Hummingbird
import Logging
public import NIOCore
public import TiakiConsent
import TiakiHTTP
import TiakiModel

/// The request context: Hummingbird's core storage and the authenticated caller, if any.
public struct TiakiRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    /// The peer's address, for counting failed sign-ins.
    public let remoteAddress: SocketAddress?
    /// The client's address when a trusted proxy named it (``ClientAddressMiddleware``).
    public var clientAddress: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        caller = nil
        remoteAddress = source.channel.remoteAddress
        clientAddress = nil
    }

    /// The client's IP address as text: the one a trusted proxy named, else the peer's; "unknown" when the channel
    /// has none (tests). Formatted only when needed.
    var source: String { clientAddress ?? remoteAddress?.ipAddress ?? "unknown" }

    /// The caller, or 401.
    func authenticated() throws -> Caller {
        guard let caller else { throw Problem.unauthorized }
        return caller
    }

    /// The caller if their role may do `action` (``Action/roles``, as the pages ask), else 403 saying which role
    /// is needed (401 when not signed in).
    func require(_ action: Action) throws -> Caller {
        let caller = try authenticated()
        try caller.require(action)
        return caller
    }
}
