/// What a template reads: a page model as ``TemplateEncoder`` turns it into values, plus the words of the page's
/// language and the session's form token.
package enum TemplateValue: Sendable {
    case text(String)
    case flag(Bool)
    case list([TemplateValue])
    case object([String: TemplateValue])
    /// The words of one language (`w`), read as text without copying them into values.
    case words([String: String])

    /// The member `name` of an object (or a word), `nil` for anything else or when there is none.
    @inline(__always)
    package func member(_ name: String) -> TemplateValue? {
        switch self {
        case .object(let members): members[name]
        case .words(let words): words[name].map(TemplateValue.text)
        default: nil
        }
    }

    /// Whether a section over the value is drawn: anything but `false` and an empty list (a missing value, which
    /// is `nil`, is not drawn either). An empty text is drawn, as swift-mustache drew it.
    var isTruthy: Bool {
        switch self {
        case .flag(let flag): flag
        case .list(let items): !items.isEmpty
        default: true
        }
    }
}

/// A `.mustache` template, parsed once: the subset of Mustache the pages use (variables escaped and not, sections
/// over lists, objects and flags, inverted sections, partials, dotted names, `{{.}}`, comments), with the spec's
/// rule that a section, partial or comment tag alone on its line takes the line with it. Delimiter changes and
/// lambdas are not supported and are refused when the template is parsed, at start.
///
/// The pages drew through swift-mustache at first; it reads each value by dynamic casts against several protocols
/// at every level of the context, which took half of a page's time (docs/benchmarks.md). This renderer reads the
/// closed ``TemplateValue`` instead; the templates are the same files.
package struct PageTemplate: Sendable {
    indirect enum Part: Sendable {
        case text([UInt8])
        case value([String], escaped: Bool)
        case section([String], inverted: Bool, [Part])
        case partial(String)
    }

    package let name: String
    let parts: [Part]

    /// The partials the template names, to check that each exists.
    package var partials: Set<String> {
        var found: Set<String> = []
        func walk(_ parts: [Part]) {
            for part in parts {
                switch part {
                case .partial(let name): found.insert(name)
                case .section(_, _, let inner): walk(inner)
                default: break
                }
            }
        }
        walk(parts)
        return found
    }

    package struct ParseError: Error, CustomStringConvertible {
        package let description: String
    }

    package init(name: String, text: String) throws {
        self.name = name
        parts = try PageTemplate.parse(Array(text.utf8), name: name)
    }

    private enum Tag {
        case value(String, escaped: Bool)
        case open(String, inverted: Bool)
        case close(String)
        case partial(String)
        case comment

        var mayStandAlone: Bool {
            if case .value = self { return false }
            return true
        }
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private static func parse(_ source: [UInt8], name: String) throws -> [Part] {
        // Built bottom-up: the open sections, innermost last, with the parts gathered inside each.
        var stack: [(path: [String], name: String, inverted: Bool, parts: [Part])] = [([], "", false, [])]
        var text: [UInt8] = []
        var i = 0
        func flush() {
            if !text.isEmpty { stack[stack.count - 1].parts.append(.text(text)) }
            text = []
        }
        while i < source.count {
            guard source[i] == 0x7B, i + 1 < source.count, source[i + 1] == 0x7B else {
                text.append(source[i])
                i += 1
                continue
            }
            let tagStart = i
            var cursor = i + 2
            let triple = cursor < source.count && source[cursor] == 0x7B
            if triple { cursor += 1 }
            let closing: [UInt8] = triple ? [0x7D, 0x7D, 0x7D] : [0x7D, 0x7D]
            guard let end = find(closing, in: source, from: cursor) else {
                throw ParseError(description: "\(name): a tag opened at byte \(tagStart) is not closed")
            }
            var inner = String(decoding: source[cursor..<end], as: UTF8.self)
            let tagEnd = end + closing.count
            let tag: Tag
            if triple {
                tag = .value(trim(inner), escaped: false)
            } else {
                let sigil = inner.first
                if let sigil, "#^/>&!=".contains(sigil) { inner.removeFirst() }
                let name = trim(inner)
                switch sigil {
                case "#": tag = .open(name, inverted: false)
                case "^": tag = .open(name, inverted: true)
                case "/": tag = .close(name)
                case ">": tag = .partial(name)
                case "&": tag = .value(name, escaped: false)
                case "!": tag = .comment
                case "=": throw ParseError(description: "\(name): changing delimiters is not supported")
                default: tag = .value(name, escaped: true)
                }
            }
            // A tag alone on its line (only blanks around it) takes the line with it.
            var next = tagEnd
            if tag.mayStandAlone {
                var lineStart = tagStart
                while lineStart > 0 && isBlank(source[lineStart - 1]) { lineStart -= 1 }
                let startsLine = lineStart == 0 || source[lineStart - 1] == 0x0A
                var after = tagEnd
                while after < source.count && isBlank(source[after]) { after += 1 }
                var endsLine = after == source.count
                if after < source.count && source[after] == 0x0A {
                    endsLine = true
                    after += 1
                } else if after + 1 < source.count && source[after] == 0x0D && source[after + 1] == 0x0A {
                    endsLine = true
                    after += 2
                }
                if startsLine && endsLine {
                    text.removeLast(tagStart - lineStart)
                    next = after
                }
            }
            switch tag {
            case .value(let name, let escaped):
                flush()
                stack[stack.count - 1].parts.append(.value(path(name), escaped: escaped))
            case .open(let name, let inverted):
                flush()
                stack.append((path(name), name, inverted, []))
            case .close(let name):
                flush()
                guard stack.count > 1, stack[stack.count - 1].name == name else {
                    throw ParseError(description: "\(name): {{/\(name)}} closes no open section")
                }
                let section = stack.removeLast()
                stack[stack.count - 1].parts.append(.section(section.path, inverted: section.inverted, section.parts))
            case .partial(let name):
                flush()
                stack[stack.count - 1].parts.append(.partial(name))
            case .comment:
                break
            }
            i = next
        }
        flush()
        guard stack.count == 1 else {
            throw ParseError(description: "\(name): the section \(stack[stack.count - 1].name) is never closed")
        }
        return stack[0].parts
    }

    private static func find(_ needle: [UInt8], in source: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + needle.count <= source.count {
            if source[i] == needle[0] && Array(source[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    private static func trim(_ text: String) -> String {
        String(text.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    /// `a.b.c` as its names; `.` as none (the value in hand).
    private static func path(_ name: String) -> [String] {
        name == "." ? [] : name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    // MARK: Drawing

    /// Draws the template over `context` into `out`, reading partials from `library`.
    package func render(_ context: TemplateValue, into out: inout [UInt8], library: [String: PageTemplate]) {
        var stack = [context]
        PageTemplate.render(parts, stack: &stack, into: &out, library: library)
    }

    private static func render(
        _ parts: [Part],
        stack: inout [TemplateValue],
        into out: inout [UInt8],
        library: [String: PageTemplate]
    ) {
        for part in parts {
            switch part {
            case .text(let bytes):
                out.append(contentsOf: bytes)
            case .value(let path, let escaped):
                guard let value = lookup(path, in: stack) else { continue }
                switch value {
                case .text(let text):
                    if escaped { escape(text, into: &out) } else { out.append(contentsOf: text.utf8) }
                case .flag(let flag):
                    out.append(contentsOf: (flag ? "true" : "false").utf8)
                default:
                    break
                }
            case .section(let path, let inverted, let inner):
                let value = lookup(path, in: stack)
                let truthy = value?.isTruthy ?? false
                if inverted {
                    if !truthy { render(inner, stack: &stack, into: &out, library: library) }
                    continue
                }
                guard truthy, let value else { continue }
                switch value {
                case .list(let items):
                    for item in items {
                        stack.append(item)
                        render(inner, stack: &stack, into: &out, library: library)
                        stack.removeLast()
                    }
                case .flag:
                    render(inner, stack: &stack, into: &out, library: library)
                default:
                    stack.append(value)
                    render(inner, stack: &stack, into: &out, library: library)
                    stack.removeLast()
                }
            case .partial(let name):
                if let template = library[name] {
                    render(template.parts, stack: &stack, into: &out, library: library)
                }
            }
        }
    }

    /// The spec's lookup: the first name is looked for from the innermost value outwards; the rest inside what
    /// it found.
    @inline(__always)
    private static func lookup(_ path: [String], in stack: [TemplateValue]) -> TemplateValue? {
        guard let first = path.first else { return stack.last }
        var found: TemplateValue?
        for value in stack.reversed() {
            if let member = value.member(first) {
                found = member
                break
            }
        }
        guard var current = found else { return nil }
        for name in path.dropFirst() {
            guard let member = current.member(name) else { return nil }
            current = member
        }
        return current
    }

    /// HTML-escapes `text` (`& < > " '`) as swift-mustache did.
    private static func escape(_ text: String, into out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case 0x26: out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
            case 0x3C: out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
            case 0x3E: out.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
            case 0x22: out.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])  // &quot;
            case 0x27: out.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])  // &#39;
            default: out.append(byte)
            }
        }
    }
}
