/// Finds YAML aliases (`*name`) before the text reaches the YAML library.
///
/// Policy files have no use for anchors and aliases, and an alias is how a few hundred bytes become a billion
/// nodes: an alias used as a mapping key makes the composer hash the whole expanded tree (a fuzzed 400-byte file
/// took 40 s). So the loader refuses any alias, with its line and column, before composing.
///
/// The scan follows enough of YAML's lexical rules to avoid false alarms: quoted scalars, comments, block scalars
/// (`|`, `>`) and `*` inside a plain scalar (`a * b`) are not aliases; a `*` that starts a node (at the start of a
/// line's content, or after `[`, `{`, `,`, `:`, `-`, `?` and a space) is.
enum YAMLAliases {
    static func first(in text: String) -> (line: Int, column: Int)? {
        var line = 1
        var blockIndent: Int?  // inside a block scalar: lines indented more than this belong to it
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { line += 1 }
            let chars = Array(raw.utf8)
            let indent = chars.prefix { $0 == UInt8(ascii: " ") }.count
            let content = chars[indent...].filter { $0 != UInt8(ascii: "\r") }
            if let block = blockIndent {
                if content.isEmpty || indent > block { continue }
                blockIndent = nil
            }
            if let column = aliasColumn(chars, from: indent) { return (line, column) }
            if opensBlockScalar(chars) { blockIndent = indent }
        }
        return nil
    }

    /// The 1-based column of the first alias on this line, outside quotes and comments.
    private static func aliasColumn(_ chars: [UInt8], from start: Int) -> Int? {
        var i = start
        var previous: UInt8? = nil  // the last character that is not a space, on this line
        var quote: UInt8? = nil
        while i < chars.count {
            let c = chars[i]
            if let q = quote {
                if c == q {
                    if q == UInt8(ascii: "'"), i + 1 < chars.count, chars[i + 1] == q {
                        i += 2
                        continue
                    }
                    quote = nil
                    previous = c
                } else if q == UInt8(ascii: "\""), c == UInt8(ascii: "\\") {
                    i += 1
                }
                i += 1
                continue
            }
            let afterSpace = i == start || chars[i - 1] == UInt8(ascii: " ") || chars[i - 1] == UInt8(ascii: "\t")
            let startsNode =
                previous == nil
                || (afterSpace && [UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "?")].contains(previous ?? 0))
                || [UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ",")].contains(previous ?? 0)
            switch c {
            case UInt8(ascii: "#") where afterSpace:
                return nil
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                if startsNode { quote = c }
            case UInt8(ascii: "*") where startsNode:
                return i + 1
            default:
                break
            }
            if c != UInt8(ascii: " "), c != UInt8(ascii: "\t") { previous = c }
            i += 1
        }
        return nil
    }

    /// Whether the line ends (before any comment) with a block scalar indicator: `|`, `>`, with `-`, `+` or digits.
    private static func opensBlockScalar(_ chars: [UInt8]) -> Bool {
        var end = chars.count
        if let hash = chars.indices.first(where: { chars[$0] == UInt8(ascii: "#") && ($0 == 0 || chars[$0 - 1] == 32) })
        {
            end = hash
        }
        let trimmed = chars[..<end].reversed().drop { $0 == 32 || $0 == UInt8(ascii: "\r") || $0 == 9 }
        let indicator = Array(trimmed.prefix { $0 != 32 }.reversed())
        guard let first = indicator.first, first == UInt8(ascii: "|") || first == UInt8(ascii: ">") else {
            return false
        }
        return indicator.dropFirst().allSatisfy {
            $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        }
    }
}
