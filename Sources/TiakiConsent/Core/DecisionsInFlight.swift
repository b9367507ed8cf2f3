import Synchronization

/// The bases of the decisions being evaluated or appended now: the state sizes their snapshots were taken at.
///
/// A projection that replays decisions at their basis (the findings) may apply an entry only once no decision
/// that could still be appended has an earlier basis; a basis is registered under the same lock the snapshot is
/// taken under, so there is no moment when an entry is applied past a basis not yet registered.
public final class DecisionsInFlight: Sendable {
    private let bases = Mutex<[UInt64: Int]>([:])

    public init() {}

    func begin(_ basis: UInt64) { bases.withLock { $0[basis, default: 0] += 1 } }

    func end(_ basis: UInt64) {
        bases.withLock {
            if let n = $0[basis], n > 1 { $0[basis] = n - 1 } else { $0[basis] = nil }
        }
    }

    /// The earliest basis of a decision in flight, or `nil` when none is.
    public var earliest: UInt64? { bases.withLock { $0.keys.min() } }
}
