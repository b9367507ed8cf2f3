public import Crypto

/// A 32-byte SHA-256 value in the RFC 9162 tree: a leaf hash, a node hash or a root.
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    public private(set) var bytes: SIMD32<UInt8>

    public init(_ digest: SHA256Digest) {
        // A SHA-256 digest is always 32 bytes.
        bytes = digest.withUnsafeBytes { $0.loadUnaligned(as: SIMD32<UInt8>.self) }
    }

    /// Reads a hash from exactly 32 bytes.
    public init?(bytes data: some Collection<UInt8>) {
        guard data.count == 32 else { return nil }
        var v = SIMD32<UInt8>()
        for (i, b) in data.enumerated() { v[i] = b }
        bytes = v
    }

    public init?(hex: String) {
        let chars = Array(hex.utf8)
        guard chars.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var i = 0
        while i < 64 {
            guard let hi = hexValue(chars[i]), let lo = hexValue(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self.init(bytes: out)
    }

    public var array: [UInt8] { Swift.withUnsafeBytes(of: bytes) { Array($0) } }

    public var hex: String {
        var s = ""
        s.reserveCapacity(64)
        for i in 0..<32 {
            s.append(Character(UnicodeScalar(CanonicalJSON.hexDigit(bytes[i] >> 4))))
            s.append(Character(UnicodeScalar(CanonicalJSON.hexDigit(bytes[i] & 0xF))))
        }
        return s
    }

    public var description: String { hex }

    @inline(__always)
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: bytes, body)
    }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}
