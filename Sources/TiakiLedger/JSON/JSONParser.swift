/// A strict RFC 8259 parser with the I-JSON (RFC 7493) restrictions RFC 8785 relies on: UTF-8 only, no duplicate
/// member names, no lone surrogates, only finite numbers.
public struct JSONParser {
    /// Deepest nesting of arrays and objects accepted; deeper input is refused rather than risking the stack.
    public var maximumDepth: Int

    public init(maximumDepth: Int = 64) {
        self.maximumDepth = maximumDepth
    }

    /// Parses one JSON text (white space allowed around it, nothing else).
    public func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { (buffer) throws(JSONError) -> JSONValue in
            var reader = Reader(bytes: buffer, maximumDepth: maximumDepth)
            reader.skipWhitespace()
            let value = try reader.parseValue(depth: 0)
            reader.skipWhitespace()
            guard reader.position == buffer.count else {
                throw JSONError("unexpected data after the JSON value", at: reader.position)
            }
            return value
        }
    }

    /// Parses a JSON text held in a string.
    public func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard peek() == byte else {
            throw JSONError("expected '\(Character(UnicodeScalar(byte)))'\(found())", at: position)
        }
        position += 1
    }

    func found() -> String {
        guard let b = peek() else { return " but the input ended" }
        if b >= 0x20 && b < 0x7F { return " but found '\(Character(UnicodeScalar(b)))'" }
        return " but found byte 0x\(String(b, radix: 16))"
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard let byte = peek() else { throw JSONError("expected a value but the input ended", at: position) }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw JSONError("expected a value\(found())", at: position)
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let start = position
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw JSONError("invalid literal", at: start) }
        for i in 0..<count where bytes[position + i] != word.utf8Start[i] {
            throw JSONError("invalid literal", at: start)
        }
        position += count
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maximumDepth else {
            throw JSONError("nested more than \(maximumDepth) levels deep", at: position)
        }
        position += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            let keyStart = position
            guard peek() == UInt8(ascii: "\"") else {
                throw JSONError("expected a member name\(found())", at: position)
            }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let value = try parseValue(depth: depth)
            guard members.updateValue(value, forKey: key) == nil else {
                throw JSONError("duplicate member name \"\(key)\"", at: keyStart)
            }
            skipWhitespace()
            guard let next = peek() else { throw JSONError("object not closed: the input ended", at: position) }
            position += 1
            if next == UInt8(ascii: "}") { return .object(members) }
            guard next == UInt8(ascii: ",") else {
                position -= 1
                throw JSONError("expected ',' or '}'\(found())", at: position)
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maximumDepth else {
            throw JSONError("nested more than \(maximumDepth) levels deep", at: position)
        }
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            guard let next = peek() else { throw JSONError("array not closed: the input ended", at: position) }
            position += 1
            if next == UInt8(ascii: "]") { return .array(items) }
            guard next == UInt8(ascii: ",") else {
                position -= 1
                throw JSONError("expected ',' or ']'\(found())", at: position)
            }
        }
    }

    mutating func parseString() throws(JSONError) -> String {
        let start = position
        position += 1
        var decoded: [UInt8] = []
        var runStart = position
        while true {
            guard position < bytes.count else { throw JSONError("string not closed: the input ended", at: start) }
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                decoded.append(contentsOf: bytes[runStart..<position])
                position += 1
                break
            }
            if b < 0x20 {
                throw JSONError("control character 0x\(String(b, radix: 16)) in a string must be escaped", at: position)
            }
            if b == UInt8(ascii: "\\") {
                decoded.append(contentsOf: bytes[runStart..<position])
                try parseEscape(into: &decoded)
                runStart = position
            } else if b >= 0x80 {
                position = try UTF8Validation.skipScalar(bytes, at: position)
            } else {
                position += 1
            }
        }
        // `decoded` is valid UTF-8: raw runs were validated and escapes were encoded from scalars.
        return String(decoding: decoded, as: UTF8.self)
    }

    mutating func parseEscape(into out: inout [UInt8]) throws(JSONError) {
        let start = position
        position += 1
        guard position < bytes.count else { throw JSONError("string not closed: the input ended", at: start) }
        let c = bytes[position]
        position += 1
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var unit = try hex4()
            if (0xD800...0xDBFF).contains(unit) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else {
                    throw JSONError("lone surrogate \\u\(String(unit, radix: 16)) in a string", at: start)
                }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONError("lone surrogate \\u\(String(unit, radix: 16)) in a string", at: start)
                }
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw JSONError("lone surrogate \\u\(String(unit, radix: 16)) in a string", at: start)
            }
            // Surrogates were handled above, so every remaining value is a valid scalar.
            guard let scalar = Unicode.Scalar(unit) else { throw JSONError("invalid escape", at: start) }
            out.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw JSONError("invalid escape '\\\(Character(UnicodeScalar(c)))'", at: start)
        }
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw JSONError("incomplete \\u escape", at: position) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw JSONError("invalid hex digit in \\u escape", at: position)
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }

    mutating func parseNumber() throws(JSONError) -> Double {
        let start = position
        guard let end = NumberLexeme.scan(bytes, from: position) else { throw JSONError("invalid number", at: start) }
        position = end
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        // The lexeme matched the JSON number grammar, which `Double(_:)` accepts; only overflow remains.
        guard let value = Double(text), value.isFinite else {
            throw JSONError("number \(text) is out of range for a double", at: start)
        }
        return value
    }
}

/// The JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
enum NumberLexeme {
    /// The end of the number lexeme that starts at `start`, or `nil` when the bytes there are not one.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var p = start
        let n = bytes.count
        func isDigit(_ i: Int) -> Bool { i < n && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") }
        if p < n && bytes[p] == UInt8(ascii: "-") { p += 1 }
        guard isDigit(p) else { return nil }
        if bytes[p] == UInt8(ascii: "0") {
            p += 1
        } else {
            while isDigit(p) { p += 1 }
        }
        if p < n && bytes[p] == UInt8(ascii: ".") {
            p += 1
            guard isDigit(p) else { return nil }
            while isDigit(p) { p += 1 }
        }
        if p < n && (bytes[p] == UInt8(ascii: "e") || bytes[p] == UInt8(ascii: "E")) {
            p += 1
            if p < n && (bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-")) { p += 1 }
            guard isDigit(p) else { return nil }
            while isDigit(p) { p += 1 }
        }
        return p
    }
}

enum UTF8Validation {
    /// Checks the multi-byte UTF-8 sequence at `i` (RFC 3629: shortest form, no surrogates, at most U+10FFFF) and
    /// returns the index after it.
    @inline(__always)
    static func skipScalar(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) throws(JSONError) -> Int {
        let b0 = bytes[i]
        let n = bytes.count
        @inline(__always) func cont(_ j: Int) -> Bool { j < n && bytes[j] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            if cont(i + 1) { return i + 2 }
        case 0xE0:
            if i + 1 < n, (0xA0...0xBF).contains(bytes[i + 1]), cont(i + 2) { return i + 3 }
        case 0xE1...0xEC, 0xEE...0xEF:
            if cont(i + 1), cont(i + 2) { return i + 3 }
        case 0xED:  // U+D000…U+D7FF; U+D800…U+DFFF are surrogates
            if i + 1 < n, (0x80...0x9F).contains(bytes[i + 1]), cont(i + 2) { return i + 3 }
        case 0xF0:
            if i + 1 < n, (0x90...0xBF).contains(bytes[i + 1]), cont(i + 2), cont(i + 3) { return i + 4 }
        case 0xF1...0xF3:
            if cont(i + 1), cont(i + 2), cont(i + 3) { return i + 4 }
        case 0xF4:
            if i + 1 < n, (0x80...0x8F).contains(bytes[i + 1]), cont(i + 2), cont(i + 3) { return i + 4 }
        default:
            break
        }
        throw JSONError("not valid UTF-8", at: i)
    }
}
