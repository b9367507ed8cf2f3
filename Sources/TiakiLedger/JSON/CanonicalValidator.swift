extension CanonicalJSON {
    /// Whether `bytes` are exactly the RFC 8785 canonical form of some JSON value.
    public static func isCanonical(_ bytes: some Collection<UInt8>) -> Bool {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { buffer in
            var validator = CanonicalValidator(buffer)
            return (try? validator.validate()) != nil
        }
    }

    /// Checks that `bytes` are canonical JSON without building the value, and returns the integer value of the
    /// top-level member `key` when the text is an object that has one.
    ///
    /// This is the check `verify` runs on every entry, so it allocates nothing for ASCII member names and plain
    /// integers, the common case.
    ///
    /// - Throws: ``JSONError`` naming what is not canonical and where.
    public static func validate(
        _ bytes: UnsafeBufferPointer<UInt8>,
        topLevelInteger key: StaticString? = nil
    ) throws(JSONError) -> Int64? {
        var validator = CanonicalValidator(bytes)
        if let key {
            validator.wantedKey = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        }
        try validator.validate()
        return validator.wantedValue
    }
}

struct CanonicalValidator {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var wantedKey: UnsafeBufferPointer<UInt8>?
    var wantedValue: Int64?
    let maximumDepth = 64

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func validate() throws(JSONError) {
        guard !bytes.isEmpty else { throw JSONError("empty input", at: 0) }
        try value(depth: 0)
        guard position == bytes.count else {
            throw JSONError("unexpected data after the JSON value (canonical JSON has no white space)", at: position)
        }
    }

    private func fail(_ message: String) -> JSONError { JSONError(message, at: position) }

    private mutating func value(depth: Int) throws(JSONError) {
        guard position < bytes.count else { throw fail("expected a value but the input ended") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try object(depth: depth + 1)
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try number()
        case 0x20, 0x09, 0x0A, 0x0D: throw fail("white space is not allowed in canonical JSON")
        default: throw fail("expected a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
            (0..<count).allSatisfy({ bytes[position + $0] == word.utf8Start[$0] })
        else { throw fail("invalid literal") }
        position += count
    }

    private mutating func object(depth: Int) throws(JSONError) {
        guard depth <= maximumDepth else { throw fail("nested more than \(maximumDepth) levels deep") }
        position += 1
        guard position < bytes.count else { throw fail("object not closed: the input ended") }
        if bytes[position] == UInt8(ascii: "}") {
            position += 1
            return
        }
        var previousKey: StringToken?
        while true {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw fail(
                    position < bytes.count && isWhitespace(bytes[position])
                        ? "white space is not allowed in canonical JSON" : "expected a member name"
                )
            }
            let keyStart = position
            let key = try string()
            if let previousKey {
                switch compareUTF16(previousKey, key) {
                case .orderedAscending: break
                case .orderedSame: throw JSONError("duplicate member name", at: keyStart)
                case .orderedDescending:
                    throw JSONError(
                        "member names out of order (RFC 8785 sorts them by UTF-16 code units)",
                        at: keyStart
                    )
                }
            }
            previousKey = key
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            position += 1
            if depth == 1, let wanted = wantedKey, key.isPlain, key.count == wanted.count,
                (0..<wanted.count).allSatisfy({ bytes[key.start + $0] == wanted[$0] }),
                position < bytes.count, bytes[position] == UInt8(ascii: "-") || isDigit(bytes[position])
            {
                wantedValue = try number()
            } else {
                try value(depth: depth)
            }
            guard position < bytes.count else { throw fail("object not closed: the input ended") }
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: "}") { return }
            guard c == UInt8(ascii: ",") else {
                position -= 1
                throw fail(isWhitespace(c) ? "white space is not allowed in canonical JSON" : "expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws(JSONError) {
        guard depth <= maximumDepth else { throw fail("nested more than \(maximumDepth) levels deep") }
        position += 1
        guard position < bytes.count else { throw fail("array not closed: the input ended") }
        if bytes[position] == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            try value(depth: depth)
            guard position < bytes.count else { throw fail("array not closed: the input ended") }
            let c = bytes[position]
            position += 1
            if c == UInt8(ascii: "]") { return }
            guard c == UInt8(ascii: ",") else {
                position -= 1
                throw fail(isWhitespace(c) ? "white space is not allowed in canonical JSON" : "expected ',' or ']'")
            }
        }
    }

    /// A string's contents as they stand in the input (between the quotes).
    struct StringToken {
        var start: Int
        var count: Int
        /// ASCII with no escapes, so the bytes are the UTF-16 code units.
        var isPlain: Bool
    }

    private mutating func string() throws(JSONError) -> StringToken {
        position += 1
        let start = position
        var plain = true
        while true {
            guard position < bytes.count else { throw JSONError("string not closed: the input ended", at: start - 1) }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                position += 1
                return StringToken(start: start, count: position - 1 - start, isPlain: plain)
            }
            if b < 0x20 { throw fail("control character in a string must be escaped") }
            if b == UInt8(ascii: "\\") {
                plain = false
                try escape()
            } else if b >= 0x80 {
                plain = false
                position = try UTF8Validation.skipScalar(bytes, at: position)
            } else {
                position += 1
            }
        }
    }

    /// RFC 8785 §3.2.2.2: only `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, and `\u00xx` (lower-case) for the other
    /// control characters.
    private mutating func escape() throws(JSONError) {
        guard position + 1 < bytes.count else { throw fail("string not closed: the input ended") }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "n"),
            UInt8(ascii: "f"), UInt8(ascii: "r"):
            position += 2
        case UInt8(ascii: "u"):
            guard position + 6 <= bytes.count, bytes[position + 2] == UInt8(ascii: "0"),
                bytes[position + 3] == UInt8(ascii: "0")
            else { throw fail("\\u escape of a character that canonical JSON writes as itself") }
            let hi = bytes[position + 4]
            let lo = bytes[position + 5]
            guard hi == UInt8(ascii: "0") || hi == UInt8(ascii: "1"),
                isDigit(lo) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(lo)
            else { throw fail("\\u escape of a character that canonical JSON writes as itself, or upper-case hex") }
            let code =
                (hi - UInt8(ascii: "0")) << 4 | (isDigit(lo) ? lo - UInt8(ascii: "0") : lo - UInt8(ascii: "a") + 10)
            guard ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(code) else {
                throw fail("\\u escape where canonical JSON uses the short escape")
            }
            position += 6
        default:
            throw fail("escape that canonical JSON does not use")
        }
    }

    /// Checks a number is written as ECMAScript writes it and returns its value when it is an integer.
    private mutating func number() throws(JSONError) -> Int64? {
        let start = position
        guard let end = NumberLexeme.scan(bytes, from: position) else { throw fail("invalid number") }
        position = end
        // Fast path: an integer of at most 15 digits without a leading zero is its own canonical form.
        var p = start
        let negative = bytes[p] == UInt8(ascii: "-")
        if negative { p += 1 }
        let digits = end - p
        var isPlainInteger = digits <= 15 && (bytes[p] != UInt8(ascii: "0") || digits == 1)
        var integer: Int64 = 0
        if isPlainInteger {
            for i in p..<end {
                guard isDigit(bytes[i]) else {
                    isPlainInteger = false
                    break
                }
                integer = integer * 10 + Int64(bytes[i] - UInt8(ascii: "0"))
            }
        }
        if isPlainInteger {
            if negative && integer == 0 { throw JSONError("-0 is written 0 in canonical JSON", at: start) }
            return negative ? -integer : integer
        }
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONError("number \(text) is out of range for a double", at: start)
        }
        var canonical: [UInt8] = []
        try CanonicalJSON.appendNumber(value, to: &canonical)
        guard canonical.elementsEqual(bytes[start..<end]) else {
            throw JSONError(
                "number \(text) is written \(String(decoding: canonical, as: UTF8.self)) in canonical JSON",
                at: start
            )
        }
        return value.rounded() == value && abs(value) <= 9_007_199_254_740_992 ? Int64(value) : nil
    }

    private func compareUTF16(_ a: StringToken, _ b: StringToken) -> ComparisonOutcome {
        if a.isPlain && b.isPlain {
            for i in 0..<min(a.count, b.count) where bytes[a.start + i] != bytes[b.start + i] {
                return bytes[a.start + i] < bytes[b.start + i] ? .orderedAscending : .orderedDescending
            }
            return a.count == b.count ? .orderedSame : (a.count < b.count ? .orderedAscending : .orderedDescending)
        }
        let x = decode(a)
        let y = decode(b)
        if x == y { return .orderedSame }
        return CanonicalJSON.precedes(x, y) ? .orderedAscending : .orderedDescending
    }

    /// Decodes a validated canonical string token (only the escapes that canonical form allows).
    private func decode(_ token: StringToken) -> String {
        var out: [UInt8] = []
        var i = token.start
        let end = token.start + token.count
        while i < end {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            switch bytes[i + 1] {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "u"):
                let hi = bytes[i + 4] - UInt8(ascii: "0")
                let lo = bytes[i + 5]
                out.append(hi << 4 | (isDigit(lo) ? lo - UInt8(ascii: "0") : lo - UInt8(ascii: "a") + 10))
                i += 4
            default: out.append(bytes[i + 1])  // \" or \\
            }
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }

    enum ComparisonOutcome { case orderedAscending, orderedSame, orderedDescending }
}

@inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
@inline(__always) private func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
