public import Foundation
import Synchronization
public import TiakiConsent

/// Signed-in sessions, held in memory (a restart signs everyone out). The cookie carries only a random id; the
/// token a person signed in with is checked once and never stored or echoed.
public final class SessionStore: Sendable {
    public struct Session: Sendable {
        public let id: String
        /// The token every form of this session carries (`csrf`), checked on every POST.
        public let csrf: String
        public let caller: Caller
        let created: Date
        var seen: Date
    }

    /// Sessions end after this long without a request, and this long after sign-in whatever happens.
    public let idle: TimeInterval
    public let absolute: TimeInterval
    private let sessions = Mutex<[String: Session]>([:])
    private let now: @Sendable () -> Date

    public init(
        idle: TimeInterval = 30 * 60,
        absolute: TimeInterval = 8 * 3600,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.idle = idle
        self.absolute = absolute
        self.now = now
    }

    /// A new session for `caller`, with a new id (an id from before sign-in is never kept).
    public func create(for caller: Caller) -> Session {
        let session = Session(id: Self.random(), csrf: Self.random(), caller: caller, created: now(), seen: now())
        sessions.withLock { all in
            let t = now()
            all = all.filter {
                t.timeIntervalSince($0.value.seen) < idle && t.timeIntervalSince($0.value.created) < absolute
            }
            all[session.id] = session
        }
        return session
    }

    /// The live session with this id, its idle clock restarted; nil when unknown or expired.
    public func find(_ id: String) -> Session? {
        sessions.withLock { all in
            guard var s = all[id] else { return nil }
            let t = now()
            guard t.timeIntervalSince(s.seen) < idle, t.timeIntervalSince(s.created) < absolute else {
                all[id] = nil
                return nil
            }
            s.seen = t
            all[id] = s
            return s
        }
    }

    public func end(_ id: String) { _ = sessions.withLock { $0.removeValue(forKey: id) } }

    /// 32 random bytes, hex.
    static func random() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", g.next() as UInt64) }.joined()
    }

    /// Equal in constant time (CSRF tokens).
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in x.indices { d |= x[i] ^ y[i] }
        return d == 0
    }
}
