import Foundation

/// A query string, or the few fields of a form body every post carries (`csrf`, `once`): names to values, repeated
/// names kept. The forms themselves are decoded into their own types (``WebPages/Submission/decode(_:)``).
struct Form: Sendable {
    private(set) var fields: [String: [String]] = [:]

    init(_ text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            fields[name, default: []].append(value)
        }
    }

    init(fields: [String: [String]]) { self.fields = fields }

    /// The first value, trimmed; nil when absent or empty.
    subscript(_ name: String) -> String? {
        guard let v = fields[name]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else {
            return nil
        }
        return v
    }

    func all(_ name: String) -> [String] { (fields[name] ?? []).filter { !$0.isEmpty } }

    /// Percent-decoding, with `+` as a space; bytes that are not UTF-8 become U+FFFD.
    static func decode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var i = s.utf8.startIndex
        let u = s.utf8
        while i < u.endIndex {
            let c = u[i]
            if c == 0x2B {
                bytes.append(0x20)
            } else if c == 0x25, let h = u.index(i, offsetBy: 1, limitedBy: u.endIndex), h < u.endIndex,
                let l = u.index(h, offsetBy: 1, limitedBy: u.endIndex), l < u.endIndex,
                let hi = hex(u[h]), let lo = hex(u[l])
            {
                bytes.append(hi << 4 | lo)
                i = l
            } else {
                bytes.append(c)
            }
            i = u.index(after: i)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x37
        case 0x61...0x66: c - 0x57
        default: nil
        }
    }

    /// Percent-encoding for a query value.
    static func encode(_ s: String) -> String {
        var o = ""
        for b in s.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: o.append(Character(UnicodeScalar(b)))
            default: o += "%" + String(format: "%02X", b)
            }
        }
        return o
    }
}
