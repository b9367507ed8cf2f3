public import Foundation
import Synchronization

/// Signed-in sessions, held in memory (a restart signs everyone out). The cookie carries only a random id; the token
/// a person signed in with is checked once and never stored or echoed.
///
/// A session names its credential, not what the credential could do: every request asks the ledger again who the
/// credential belongs to and whether it still stands, so a revocation ends every session of it at once.
///
/// Each credential holds at most ``perCredential`` sessions (a new sign-in ends its oldest), and signing in costs
/// the same however many sessions exist: expired sessions are swept a few at a time, never all at once.
public final class SessionStore: Sendable {
    public struct Session: Sendable {
        public let id: String
        /// The token every form of this session carries (`csrf`), checked on every POST.
        public let csrf: String
        /// The credential signed in with.
        public let credential: String
        let created: Date
        var seen: Date
    }

    /// A form in progress or done: what was typed (the urlencoded body), the problems found with it, and once it
    /// recorded something, where that is shown. Kept per session, by the form's one-time token.
    struct Draft: Sendable {
        var body: String
        var errors: [FieldError]
        /// Where the write this form made is shown; set once it is recorded.
        var result: String?
        /// A write with this token is running now (a second click waits for it).
        var inFlight = false
    }

    /// Sessions end after this long without a request, and this long after sign-in whatever happens.
    public let idle: TimeInterval
    public let absolute: TimeInterval
    /// The most sessions one credential holds at once.
    public let perCredential: Int
    /// The most forms a session remembers (the oldest is forgotten first).
    static let draftsPerSession = 32

    private struct Table {
        var sessions: [String: Session] = [:]
        /// Session ids by credential, oldest first.
        var byCredential: [String: [String]] = [:]
        var drafts: [String: [String: Draft]] = [:]
        var draftOrder: [String: [String]] = [:]
        /// Ids in creation order, for the sweep; may hold ids already ended.
        var order: [String] = []
        var sweepAt = 0
    }

    private let table = Mutex(Table())
    private let now: @Sendable () -> Date

    public init(
        idle: TimeInterval = 30 * 60,
        absolute: TimeInterval = 8 * 3600,
        perCredential: Int = 10,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.idle = idle
        self.absolute = absolute
        self.perCredential = max(1, perCredential)
        self.now = now
    }

    private func live(_ s: Session, at t: Date) -> Bool {
        t.timeIntervalSince(s.seen) < idle && t.timeIntervalSince(s.created) < absolute
    }

    /// A new session for `credential`, with a new id (an id from before sign-in is never kept). Ends the
    /// credential's oldest sessions beyond ``perCredential``.
    public func create(credential: String) -> Session {
        let t = now()
        let session = Session(id: Self.random(), csrf: Self.random(), credential: credential, created: t, seen: t)
        table.withLock { all in
            all.sessions[session.id] = session
            all.order.append(session.id)
            var mine = (all.byCredential[credential] ?? []).filter { id in
                all.sessions[id].map { live($0, at: t) } ?? false
            }
            mine.append(session.id)
            while mine.count > perCredential {
                let oldest = mine.removeFirst()
                remove(oldest, from: &all)
            }
            all.byCredential[credential] = mine
            sweep(&all, at: t, steps: 4)
        }
        return session
    }

    /// Looks at a few sessions from where the last sweep stopped and ends those that expired: the work per sign-in
    /// stays constant, and every expired session is found within a few sign-ins of its expiry per live session.
    private func sweep(_ all: inout Table, at t: Date, steps: Int) {
        var looked = 0
        while looked < steps, all.sweepAt < all.order.count {
            let id = all.order[all.sweepAt]
            all.sweepAt += 1
            looked += 1
            if let s = all.sessions[id], !live(s, at: t) { remove(id, from: &all) }
        }
        if all.sweepAt >= all.order.count || all.sweepAt > 4096 {
            // Drop what was looked at (and ids already ended) so the list holds only what may still be live.
            all.order = all.order[all.sweepAt...].filter { all.sessions[$0] != nil }
            all.sweepAt = 0
        }
    }

    private func remove(_ id: String, from all: inout Table) {
        guard let s = all.sessions.removeValue(forKey: id) else { return }
        all.byCredential[s.credential]?.removeAll { $0 == id }
        if all.byCredential[s.credential]?.isEmpty == true { all.byCredential[s.credential] = nil }
        all.drafts[id] = nil
        all.draftOrder[id] = nil
    }

    /// The live session with this id, its idle clock restarted; nil when unknown or expired.
    public func find(_ id: String) -> Session? {
        table.withLock { all in
            guard var s = all.sessions[id] else { return nil }
            let t = now()
            guard live(s, at: t) else {
                remove(id, from: &all)
                return nil
            }
            s.seen = t
            all.sessions[id] = s
            return s
        }
    }

    public func end(_ id: String) { table.withLock { remove(id, from: &$0) } }

    /// Ends every session of `credential` (revoked, or no longer known).
    public func endAll(credential: String) {
        table.withLock { all in
            for id in all.byCredential[credential] ?? [] { remove(id, from: &all) }
        }
    }

    /// How many sessions `credential` holds now.
    public func count(credential: String) -> Int {
        table.withLock { all in
            let t = now()
            return (all.byCredential[credential] ?? []).filter { all.sessions[$0].map { live($0, at: t) } ?? false }
                .count
        }
    }

    // MARK: Forms

    /// The draft a form token names in this session.
    func draft(_ token: String, session: String) -> Draft? {
        table.withLock { $0.drafts[session]?[token] }
    }

    /// The draft a token names, removed: something shown once (a new credential's token).
    func take(_ token: String, session: String) -> Draft? {
        table.withLock { all in
            all.draftOrder[session]?.removeAll { $0 == token }
            return all.drafts[session]?.removeValue(forKey: token)
        }
    }

    /// Keeps what a form held (after a problem, or before its information sheet).
    func keep(_ draft: Draft, token: String, session: String) {
        table.withLock { all in
            guard all.sessions[session] != nil else { return }
            if all.drafts[session]?[token] == nil {
                all.draftOrder[session, default: []].append(token)
                while let order = all.draftOrder[session], order.count > Self.draftsPerSession {
                    let oldest = order[0]
                    all.draftOrder[session]?.removeFirst()
                    all.drafts[session]?[oldest] = nil
                }
            }
            // A form already recorded stays recorded, whatever is kept over it.
            var kept = draft
            if let old = all.drafts[session]?[token], old.result != nil {
                kept.result = old.result
                kept.inFlight = false
            }
            all.drafts[session, default: [:]][token] = kept
        }
    }

    /// What a write with `token` may do now.
    enum Claim {
        /// Nobody wrote with it: go on, then ``finish(_:session:result:)`` or ``release(_:session:)``.
        case claimed
        /// A write with it is running: wait and ask again.
        case busy
        /// It recorded already: this is where that is shown.
        case recorded(String)
    }

    func claim(_ token: String, session: String, body: String) -> Claim {
        table.withLock { all in
            if let d = all.drafts[session]?[token] {
                if let result = d.result { return .recorded(result) }
                if d.inFlight { return .busy }
            }
            guard all.sessions[session] != nil else { return .claimed }
            if all.drafts[session]?[token] == nil { all.draftOrder[session, default: []].append(token) }
            // A draft kept before (the form behind an information sheet) keeps what it held.
            var d = all.drafts[session]?[token] ?? Draft(body: body, errors: [])
            d.inFlight = true
            all.drafts[session, default: [:]][token] = d
            return .claimed
        }
    }

    /// The write with `token` recorded what `result` shows.
    func finish(_ token: String, session: String, result: String) {
        table.withLock { all in
            all.drafts[session]?[token]?.result = result
            all.drafts[session]?[token]?.inFlight = false
        }
    }

    /// The write with `token` recorded nothing: the form may be sent again.
    func release(_ token: String, session: String) {
        table.withLock { $0.drafts[session]?[token]?.inFlight = false }
    }

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
