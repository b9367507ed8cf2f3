/// RFC 8785 JSON Canonicalization Scheme.
///
/// Canonical form: no insignificant white space; object members sorted by the UTF-16 code units of their names;
/// strings with only the escapes RFC 8785 §3.2.2.2 allows; numbers as ECMAScript's `Number.prototype.toString`
/// writes them (§3.2.2.3).
public enum CanonicalJSON {
    /// The canonical bytes of `value`.
    ///
    /// - Throws: ``JSONError`` when the value holds a number that JSON cannot represent (NaN or infinity).
    public static func encode(_ value: JSONValue) throws(JSONError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try append(value, to: &out)
        return out
    }

    /// Appends the canonical bytes of `value` to `out`.
    public static func append(_ value: JSONValue, to out: inout [UInt8]) throws(JSONError) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let d): try appendNumber(d, to: &out)
        case .string(let s): appendString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try append(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, key) in sortedKeys(members.keys).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                // The key comes from `members.keys`, so the lookup cannot miss.
                try append(members[key] ?? .null, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Keys in RFC 8785 order: by their UTF-16 code units, compared as unsigned integers.
    public static func sortedKeys(_ keys: some Sequence<String>) -> [String] {
        keys.sorted(by: precedes)
    }

    /// Whether `a` sorts before `b` by UTF-16 code units (RFC 8785 §3.2.3).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    /// Appends a JSON string literal with RFC 8785's escaping: `\"`, `\\`, the five short control escapes, `\u00xx`
    /// (lower-case hex) for the other control characters, and every other character as its UTF-8 bytes.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        let copied = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 {
        v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10
    }

    /// Appends a number as ECMAScript's `Number.prototype.toString` writes it (ECMA-262 §7.1.12.1), which RFC 8785
    /// §3.2.2.3 adopts.
    public static func appendNumber(_ value: Double, to out: inout [UInt8]) throws(JSONError) {
        guard value.isFinite else { throw JSONError("\(value) cannot be represented in JSON") }
        if value == 0 {  // both +0 and -0
            out.append(UInt8(ascii: "0"))
            return
        }
        // Integers that a double holds exactly print as plain digits, the common case for indexes and sizes.
        if value.rounded() == value, abs(value) < 1e15 {
            out.append(contentsOf: String(Int64(value)).utf8)
            return
        }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let (digits, n) = shortestDigits(abs(value))
        let k = digits.count
        if k <= n && n <= 21 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n && n <= 21 {
            out.append(contentsOf: digits[0..<n])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: ".")])
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            out.append(contentsOf: digits)
        } else {
            let e = n - 1
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out.append(contentsOf: String(abs(e)).utf8)
        }
    }

    /// The shortest decimal digits `d1…dk` and exponent `n` with `value = 0.d1…dk × 10^n` that round-trip to
    /// `value` (the `k` and `n` of ECMA-262 §7.1.12.1).
    ///
    /// Swift's `description` already produces the shortest round-tripping digits, choosing the closest when several
    /// have that length, which is the ECMAScript rule; this only reads them back out of its notation.
    static func shortestDigits(_ value: Double) -> (digits: [UInt8], exponent: Int) {
        let text = Array(value.description.utf8)
        var mantissa = text[...]
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            mantissa = text[..<e]
            // Swift writes the exponent as decimal digits with an optional sign; it always parses.
            exponent = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
        }
        var digits: [UInt8] = []
        var pointPosition: Int?
        for c in mantissa {
            if c == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else {
                digits.append(c)
            }
        }
        var n = (pointPosition ?? digits.count) + exponent
        // Drop leading zeros (as in "0.001") and trailing zeros (as in "1.0").
        while let first = digits.first, first == UInt8(ascii: "0"), digits.count > 1 {
            digits.removeFirst()
            n -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0"), digits.count > 1 {
            digits.removeLast()
        }
        return (digits, n)
    }
}
