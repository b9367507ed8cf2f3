import TiakiModel

/// A problem with one field of a form: which field (the form's own name for it) and what is wrong, as a key into
/// the page's words, so that the message is drawn in the reader's language however often the page is drawn again.
struct FieldError: Sendable, Equatable {
    /// The field, as the form names it (`birthMonth`, `sharing.protection`).
    var field: String
    /// What is wrong: a refusal's code (`invalid`, `conflict`, `not-in-vocabulary`) or a form's own (`missing`).
    var code: String

    init(_ field: String, _ code: String = "invalid") {
        self.field = field
        self.code = code
    }

    /// The refusal of a service, as a problem with the field it names (`fallback` when it names none). A domain
    /// field path (`consenters[0].name`, `sharing.storageRegions[1]`) is cut to the form's field.
    init(_ error: TiakiError, fallback: String) {
        var field = error.field ?? fallback
        if let bracket = field.firstIndex(of: "[") {
            let rest = field[field.index(after: bracket)...].drop { $0 != "]" }.dropFirst()
            field = String(field[..<bracket]) + rest
        }
        self.init(field, error.code.name)
    }

    /// The element the error summary links to.
    var anchor: String { FieldError.anchor(field) }

    static func anchor(_ field: String) -> String {
        "f-" + String(field.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    /// The message in `words`: the field's own for this code, else the field's, else the code's.
    func message(_ words: [String: String]) -> String {
        words["error.\(field).\(code)"] ?? words["error.\(field)"] ?? words["error.\(code)"] ?? words["error.invalid"]
            ?? ""
    }
}

/// An error as a template draws it: where it links and what it says.
struct ErrorLine: Sendable, Encodable {
    let anchor: String
    let message: String
}

extension Array where Element == FieldError {
    /// The errors for the summary, in the order given, once each.
    func lines(_ words: [String: String]) -> [ErrorLine] {
        var seen: Set<String> = []
        return compactMap { e in
            let line = ErrorLine(anchor: e.anchor, message: e.message(words))
            return seen.insert(e.anchor + line.message).inserted ? line : nil
        }
    }

    /// The message beside `fields` (the first error among them), if any.
    func message(for fields: String..., words: [String: String]) -> String? {
        first { fields.contains($0.field) }?.message(words)
    }
}

extension TiakiError {
    /// Whether the refusal is about what the form said (drawn again beside its field), rather than about the
    /// child, the reader or the service (a page of its own saying why).
    var isFieldProblem: Bool {
        switch code.backing {
        case .invalid, .unknownField, .notInVocabulary, .unknownOrganisation, .conflict, .tooMany: true
        case .unknownSubject, .unknownConsent, .unknownCredential, .unknownDisclosure, .unknownBreach, .erased,
            .forbidden, .rateLimited, .unavailable, .internal:
            false
        }
    }
}
