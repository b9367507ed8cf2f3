import Synchronization

/// Where the consent layer gets its random ids, keys and nonces: the system's generator, or a seeded one so that
/// `tiaki simulate` writes the same ledger for the same seed.
public final class RandomSource: Sendable {
    private let state: Mutex<UInt64>
    public let isSeeded: Bool

    /// The system's cryptographic generator.
    public static let system = RandomSource()

    private init() {
        state = Mutex(0)
        isSeeded = false
    }

    /// A deterministic generator (SplitMix64). Only for simulations and tests: its output is predictable.
    public init(seed: UInt64) {
        state = Mutex(seed)
        isSeeded = true
    }

    public func bytes(_ count: Int) -> [UInt8] {
        guard isSeeded else {
            var g = SystemRandomNumberGenerator()
            return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
        }
        return self.state.withLock { state in
            var generator = SeededGenerator(seed: state)
            defer { state = generator.state }
            return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        }
    }

    public func hex(_ count: Int) -> String {
        bytes(count).map { String(CanonicalHex.digit($0 >> 4)) + String(CanonicalHex.digit($0 & 0xF)) }.joined()
    }
}

enum CanonicalHex {
    static func digit(_ v: UInt8) -> Character { Character(UnicodeScalar(v < 10 ? 48 + v : 87 + v)) }
}

/// SplitMix64: a small, fast, deterministic generator for simulations, samples and benchmarks. Not for secrets.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One of `options`, uniformly.
    public mutating func pick<T>(_ options: [T]) -> T { options[Int(next() % UInt64(options.count))] }
}
