/// Words people type: a name, a reason, the words a whānau were shown. Checked the same way wherever they come in,
/// so that nothing typed can hide a character that changes how a page or a printed report reads.
public enum FreeText {
    /// Characters that reorder how text is shown (the bidirectional embeddings, overrides and isolates): a name
    /// written with U+202E reads backwards.
    static func isBidirectionalControl(_ scalar: Unicode.Scalar) -> Bool {
        (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// The first character that may not be in a field, if any: a control character (NUL among them; line breaks
    /// and tabs only where the field is `multiline`), or a bidirectional control.
    public static func forbidden(in text: String, multiline: Bool) -> Unicode.Scalar? {
        text.unicodeScalars.first { s in
            if isBidirectionalControl(s) { return true }
            guard s.properties.generalCategory == .control else { return false }
            return !(multiline && (s == "\n" || s == "\r" || s == "\t"))
        }
    }

    /// Refuses text that is empty (or only spaces), longer than `limit` characters, or holds a character
    /// ``forbidden(in:multiline:)`` names, with a message naming the field.
    public static func check(_ text: String, field: String, limit: Int, multiline: Bool = false) throws {
        guard !trimmed(text).isEmpty, text.unicodeScalars.count <= limit else {
            throw TiakiError(.invalid, "\(field) must be 1 to \(limit) characters", field: field)
        }
        if let bad = forbidden(in: text, multiline: multiline) {
            let code = String(bad.value, radix: 16, uppercase: true)
            let what =
                isBidirectionalControl(bad)
                ? "a character that changes the direction text is shown in (U+\(code))"
                : "a control character (U+\(String(repeating: "0", count: max(0, 4 - code.count)))\(code))"
            throw TiakiError(.invalid, "\(field) must not hold \(what)", field: field)
        }
    }

    /// The text without spaces and line breaks around it.
    public static func trimmed(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
