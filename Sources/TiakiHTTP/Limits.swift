import Foundation
import Synchronization
import TiakiModel

/// Failed sign-ins and tokens that are not valid, counted per key (a source address, a presented token's
/// identifier): after a few failures each further failure of that key must wait, and the wait grows (1 s, 2 s,
/// 4 s, … from ``firstDelay`` up to ``maximumDelay``) until the failures age out of ``window``. A valid credential is never counted or
/// kept waiting, so one mistyped script behind a school's NAT slows only itself.
public final class FailedAttemptLimiter: Sendable {
    /// Failures a key may make before it has to wait.
    public let free: Int
    /// How long a failure is remembered.
    public let window: Duration
    public let maximumDelay: Duration
    /// The first wait; each after it twice the one before.
    public let firstDelay: Duration
    private struct Record {
        var failures: [ContinuousClock.Instant]
        var until: ContinuousClock.Instant?
    }

    private let table = Mutex<[String: Record]>([:])
    /// Keys tracked at most; beyond it the quietest are forgotten, so a flood of addresses cannot exhaust memory.
    private let capacity = 20_000

    public init(
        free: Int = 5,
        window: Duration = .seconds(900),
        firstDelay: Duration = .seconds(1),
        maximumDelay: Duration = .seconds(60)
    ) {
        self.free = max(1, free)
        self.window = window
        self.firstDelay = firstDelay
        self.maximumDelay = max(maximumDelay, firstDelay)
    }

    /// Seconds until a failure of any of `keys` may be tried again, or `nil` when it may be now. The common case,
    /// nothing failed lately, costs one uncontended lock.
    public func retryAfter(_ keys: [String], now: ContinuousClock.Instant = .now) -> Int? {
        table.withLock { table in
            guard !table.isEmpty else { return nil }
            var wait: Duration?
            for key in keys {
                guard let until = table[key]?.until, until > now else { continue }
                wait = max(wait ?? .zero, until - now)
            }
            return wait.map { max(1, Int($0.components.seconds) + ($0.components.attoseconds > 0 ? 1 : 0)) }
        }
    }

    /// Counts one failure of each of `keys`; from the ``free``-th on, the key waits twice as long as before.
    public func recordFailure(_ keys: [String], now: ContinuousClock.Instant = .now) {
        table.withLock { table in
            if table.count >= capacity {
                table = table.filter { $0.value.failures.contains { now - $0 < window } }
                if table.count >= capacity {
                    let newest = table.sorted { ($0.value.failures.last ?? now) > ($1.value.failures.last ?? now) }
                    table = Dictionary(uniqueKeysWithValues: newest.prefix(capacity / 2).map { ($0.key, $0.value) })
                }
            }
            for key in keys {
                var record = table[key] ?? Record(failures: [], until: nil)
                record.failures.removeAll { now - $0 >= window }
                record.failures.append(now)
                if record.failures.count > 64 { record.failures.removeFirst(record.failures.count - 64) }
                let over = record.failures.count - free
                if over >= 0 {
                    record.until = now + min(firstDelay * (1 << min(over, 20)), maximumDelay)
                }
                table[key] = record
            }
        }
    }

    /// The keys a failed token counts under: where it came from, and which token it was (never the token).
    public static func keys(source: String, token: String) -> [String] {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in token.utf8 {
            hash ^= UInt64(byte)
            hash &*= 1_099_511_628_211
        }
        return ["address:" + source, "token:" + String(hash, radix: 16)]
    }
}

/// Writes per credential: a token bucket that holds ``burst`` writes and refills at ``rate`` a second. A write
/// beyond it is refused (``TiakiError/Code/rateLimited``, with the seconds to wait) before anything is recorded, on
/// the API and on the pages alike.
public final class WriteLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    private let buckets = Mutex<[String: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    public init(rate: Double = 20, burst: Double = 200) {
        self.rate = max(0.001, rate)
        self.burst = max(1, burst)
    }

    /// Takes one write from `credential`'s bucket, or refuses.
    public func admit(_ credential: String, now: ContinuousClock.Instant = .now) throws {
        let wait: Double? = buckets.withLock { buckets in
            var (tokens, at) = buckets[credential] ?? (burst, now)
            let elapsed = now - at
            tokens = min(
                burst,
                tokens + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            )
            guard tokens >= 1 else {
                buckets[credential] = (tokens, now)
                return (1 - tokens) / rate
            }
            buckets[credential] = (tokens - 1, now)
            return nil
        }
        if let wait {
            let seconds = max(1, Int(wait.rounded(.up)))
            throw TiakiError(
                .rateLimited,
                "This credential is writing faster than \(Int(rate)) a second allows; nothing was recorded. Try again in \(seconds) s.",
                retryAfter: seconds
            )
        }
    }
}
