import Synchronization

/// Serialises async work per key: a check of the consent state and the append it permits run as one step, so two
/// withdrawals of the same consent racing each other record one withdrawal and answer the other with a conflict.
/// Work under different keys runs concurrently; waiters under one key run in arrival order.
package final class KeyedLock: Sendable {
    /// A key is held while present; its array holds the waiters.
    private let held = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    package func withLock<T>(_ key: String, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: String) async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let free = held.withLock { table -> Bool in
                if table[key] == nil {
                    table[key] = []
                    return true
                }
                table[key, default: []].append(waiter)
                return false
            }
            if free { waiter.resume() }
        }
    }

    private func release(_ key: String) {
        let next = held.withLock { table -> CheckedContinuation<Void, Never>? in
            guard var waiters = table[key], !waiters.isEmpty else {
                table[key] = nil
                return nil
            }
            let first = waiters.removeFirst()
            table[key] = waiters
            return first
        }
        next?.resume()
    }
}
