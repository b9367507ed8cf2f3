import Testing

@testable import TiakiLedger

@Suite("RFC 8785 canonical JSON")
struct CanonicalJSONTests {
    /// Canonical bytes, compared as bytes: Swift's `String ==` treats canonically equivalent text as equal.
    func canonical(_ text: String) throws -> [UInt8] {
        try CanonicalJSON.encode(JSONParser().parse(text))
    }

    @Test("the §3.2.2 example serialises exactly as the RFC prints it")
    func rfcSection322Example() throws {
        let input = #"""
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """#
        let expected =
            #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        #expect(try canonical(input) == Array(expected.utf8))
        #expect(CanonicalJSON.isCanonical(Array(expected.utf8)))
    }

    @Test("the §3.2.3 example sorts member names by UTF-16 code units")
    func rfcSection323Sorting() throws {
        let input = #"""
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """#
        let expected =
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\u{FB33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        #expect(try canonical(input) == Array(expected.utf8))
        #expect(CanonicalJSON.isCanonical(Array(expected.utf8)))
    }

    /// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    static let appendixB: [(UInt64, String)] = [
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
        (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xc340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
        (0x44b5_2d02_c7e1_4af6, "1e+23"),
        (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
        (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
        (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
        (0x444b_1ae4_d6e2_ef50, "1e+21"),
        (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
        (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
        (0x41b3_de43_5555_5553, "333333333.3333332"),
        (0x41b3_de43_5555_5554, "333333333.33333325"),
        (0x41b3_de43_5555_5555, "333333333.3333333"),
        (0x41b3_de43_5555_5556, "333333333.3333334"),
        (0x41b3_de43_5555_5557, "333333333.33333343"),
        (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
        (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
    ]

    @Test("Appendix B numbers format as ECMAScript writes them", arguments: appendixB)
    func appendixBNumbers(bits: UInt64, expected: String) throws {
        let value = Double(bitPattern: bits)
        #expect(String(decoding: try CanonicalJSON.encode(.number(value)), as: UTF8.self) == expected)
        #expect(CanonicalJSON.isCanonical(Array(expected.utf8)))
    }

    @Test("NaN and infinity cannot be serialised")
    func nonFiniteNumbersAreRefused() {
        #expect(throws: JSONError.self) { try CanonicalJSON.encode(.number(.nan)) }
        #expect(throws: JSONError.self) { try CanonicalJSON.encode(.number(.infinity)) }
        #expect(throws: JSONError.self) { try CanonicalJSON.encode(.number(-.infinity)) }
    }

    @Test(
        "bytes that are not canonical are recognised",
        arguments: [
            #"{"b":1,"a":2}"#,  // order
            #"{"a":1,"a":2}"#,  // duplicate
            #"{"a": 1}"#,  // white space
            #" {"a":1}"#,
            #"{"a":1}"# + "\n",
            #"{"a":1.0}"#,  // number forms
            #"{"a":1e2}"#,
            #"{"a":-0}"#,
            #"{"a":01}"#,
            #"{"a":1E+30}"#,
            #"{"a":9007199254740993}"#,
            #"{"a":"\u0041"}"#,  // escapes
            #"{"a":"\/"}"#,
            #"{"a":"\u000A"}"#,
            #"{"a":"\u001F"}"#,
            #"{"a":"\u00e9"}"#,
            "{\"a\":\"\u{1}\"}",  // raw control character
            #"{"a":tru}"#,
            #"{"a":1"#,
            #"{"a":[1,]}"#,
            "",
        ]
    )
    func nonCanonicalInput(_ text: String) {
        #expect(!CanonicalJSON.isCanonical(Array(text.utf8)))
    }

    @Test("invalid UTF-8 is neither canonical nor parsed")
    func invalidUTF8() {
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0xFF]] {
            let text = Array(#"{"a":""#.utf8) + bad + Array(#""}"#.utf8)
            #expect(!CanonicalJSON.isCanonical(text))
            #expect(throws: JSONError.self) { try JSONParser().parse(text) }
        }
    }

    @Test("the parser refuses duplicate names, lone surrogates, overflow and excessive depth")
    func strictParsing() {
        let parser = JSONParser(maximumDepth: 8)
        for text in [
            #"{"a":1,"a":1}"#, #""\ud800""#, #""\udc00x""#, "1e400",
            String(repeating: "[", count: 9) + String(repeating: "]", count: 9),
            "[1] x", "01", "+1", ".5", "1.", "\"\u{1}\"", "nul", "{\"a\" 1}",
        ] {
            #expect(throws: JSONError.self, "\(text)") { try parser.parse(text) }
        }
    }

    @Test("validate finds the top-level index and ignores nested ones")
    func validateExtractsIndex() throws {
        let bytes = Array(#"{"body":{"index":5},"index":42,"kind":"x"}"#.utf8)
        let index = try bytes.withUnsafeBufferPointer { try CanonicalJSON.validate($0, topLevelInteger: "index") }
        #expect(index == 42)
        let none = Array(#"{"body":{"index":5}}"#.utf8)
        #expect(try none.withUnsafeBufferPointer { try CanonicalJSON.validate($0, topLevelInteger: "index") } == nil)
    }

    @Test("encode then validate round-trips values with awkward strings and numbers")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let value = randomValue(&generator, depth: 0)
            let bytes = try CanonicalJSON.encode(value)
            #expect(CanonicalJSON.isCanonical(bytes))
            let reparsed = try JSONParser().parse(bytes)
            #expect(try CanonicalJSON.encode(reparsed) == bytes)
        }
    }

    func randomValue(_ g: inout SplitMix64, depth: Int) -> JSONValue {
        let pick = depth > 3 ? g.next() % 4 : g.next() % 6
        switch pick {
        case 0: return .null
        case 1: return .bool(g.next() % 2 == 0)
        case 2:
            return .number(
                g.next() % 3 == 0
                    ? Double(Int64(bitPattern: g.next()) >> 20) : Double(bitPattern: g.next() & 0x7FEF_FFFF_FFFF_FFFF)
            )
        case 3: return .string(randomString(&g))
        case 4: return .array((0..<Int(g.next() % 4)).map { _ in randomValue(&g, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int(g.next() % 5) { members[randomString(&g)] = randomValue(&g, depth: depth + 1) }
            return .object(members)
        }
    }

    func randomString(_ g: inout SplitMix64) -> String {
        let alphabet: [Unicode.Scalar] = [
            "a", "Z", "\"", "\\", "\n", "\u{1}", "\u{1F}", "\u{7F}", "é", "€", "\u{FB33}", "😀", "ā", "/",
        ]
        return String(
            String.UnicodeScalarView(
                (0..<Int(g.next() % 6)).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] }
            )
        )
    }
}

/// A small deterministic generator for property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
