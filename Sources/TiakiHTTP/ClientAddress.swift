import Foundation
public import HTTPTypes

#if canImport(Glibc)
import Glibc
#endif

/// A block of IP addresses (`10.0.0.0/8`, `192.168.1.7`, `::1/128`), for `--trusted-proxy`.
public struct AddressBlock: Sendable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefix: Int

    /// Parses `ADDRESS` or `ADDRESS/BITS`; `nil` when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let bytes = AddressBlock.bytes(String(first)) else { return nil }
        let prefix: Int
        if parts.count == 2 {
            guard let bits = Int(parts[1]), bits >= 0, bits <= bytes.count * 8 else { return nil }
            prefix = bits
        } else {
            prefix = bytes.count * 8
        }
        self.bytes = bytes
        self.prefix = prefix
    }

    public var description: String { "\(AddressBlock.text(bytes))/\(prefix)" }

    /// Whether `address` (text) is in this block.
    public func contains(_ address: String) -> Bool {
        guard let other = AddressBlock.bytes(address), other.count == bytes.count else { return false }
        var left = prefix
        for (a, b) in zip(bytes, other) {
            guard left > 0 else { return true }
            let mask: UInt8 = left >= 8 ? 0xFF : ~(0xFF >> UInt8(left))
            guard a & mask == b & mask else { return false }
            left -= 8
        }
        return true
    }

    /// The bytes of an IPv4 or IPv6 address in text; an IPv4-mapped IPv6 address as its IPv4 bytes.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let all = withUnsafeBytes(of: &v6) { Array($0) }
        if all[0..<10].allSatisfy({ $0 == 0 }), all[10] == 0xFF, all[11] == 0xFF { return Array(all[12...]) }
        return all
    }

    static func text(_ bytes: [UInt8]) -> String {
        bytes.count == 4
            ? bytes.map(String.init).joined(separator: ".")
            : stride(from: 0, to: bytes.count, by: 2).map {
                String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
            }
            .joined(separator: ":")
    }
}

/// Where a request came from: the peer's address, or, when the peer is a trusted proxy, the client the proxy names
/// in `Forwarded` or `X-Forwarded-For` (the nearest address in them that is not itself a trusted proxy). Headers
/// from anyone else are ignored: a client cannot choose the address it is counted under.
public struct ClientAddress: Sendable {
    public let trusted: [AddressBlock]

    public init(trusted: [AddressBlock]) { self.trusted = trusted }

    func isTrusted(_ address: String) -> Bool { trusted.contains { $0.contains(address) } }

    public func resolve(peer: String?, headers: HTTPFields) -> String {
        guard let peer else { return "unknown" }
        guard !trusted.isEmpty, isTrusted(peer) else { return peer }
        var chain: [String] = []
        if let name = HTTPField.Name("Forwarded") {
            for value in headers[values: name] {
                for element in value.split(separator: ",") {
                    for pair in element.split(separator: ";") {
                        let kv = pair.split(separator: "=", maxSplits: 1)
                        guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else {
                            continue
                        }
                        chain.append(Self.clean(String(kv[1])))
                    }
                }
            }
        }
        if chain.isEmpty, let name = HTTPField.Name("X-Forwarded-For") {
            for value in headers[values: name] {
                chain += value.split(separator: ",").map { Self.clean(String($0)) }
            }
        }
        // From the nearest hop back: the first that is not one of ours is the client.
        for address in chain.reversed() where !address.isEmpty {
            guard AddressBlock.bytes(address) != nil else { return peer }
            if !isTrusted(address) { return address }
        }
        return peer
    }

    /// An address as `Forwarded` may quote it: `"[2001:db8::1]:443"`, `192.0.2.1:8080`.
    static func clean(_ text: String) -> String {
        var s = text.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            return String(s[s.index(after: s.startIndex)..<close])
        }
        if s.filter({ $0 == ":" }).count == 1, let colon = s.firstIndex(of: ":") { s = String(s[..<colon]) }
        return s
    }
}
