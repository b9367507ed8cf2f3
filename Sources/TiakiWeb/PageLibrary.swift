import Foundation
import TiakiTemplates

/// Every template the pages draw with: one `.mustache` file each under `Resources/Templates`. The set is closed, so
/// a page cannot name a template that is not loaded; ``PageLibrary/load(from:)`` refuses to start without one, and
/// without a word a template uses.
enum Template: String, CaseIterable, Sendable {
    case layout, errors, message
    case signIn = "sign-in"
    case home
    case find, register, child
    case consent
    case consentItems = "consent-items"
    case told, sheet, receipt, withdraw, refusal
    case share, answer
    case findings, report, erase, document
    case notices, breaches, breach
    case coverage, ledger
    case admin, issued, revoke
}

/// The templates, parsed once at start, and the words they use checked against both languages.
struct PageLibrary: Sendable {
    let templates: [String: PageTemplate]

    /// Where the templates are: the module's resources.
    static var directory: String? { Bundle.module.resourcePath.map { $0 + "/Templates" } }

    /// Loads every template of ``Template`` from `directory` and checks that each word a template names
    /// (`{{w.key}}`) is in both languages.
    ///
    /// - Throws: ``PageSetupError`` naming the template or word that is missing, or the template that does not
    ///   parse: the service refuses to start rather than draw a blank.
    static func load(from directory: String? = PageLibrary.directory) throws -> PageLibrary {
        let loaded: (set: TemplateSet, texts: [String: String])
        do {
            loaded = try TemplateSet.load(Template.allCases.map(\.rawValue), from: directory)
        } catch {
            throw PageSetupError(error.description)
        }
        for (name, text) in loaded.texts {
            for word in Self.words(in: text) {
                // `{{w.a.b}}` would look for `b` inside the word `a`: a template's words have no dots.
                guard !word.contains(".") else {
                    throw PageSetupError("the template \(name) names the word \(word); a template's words have no dots")
                }
                for (language, words) in [("en", PageWords.en), ("mi", PageWords.mi)] where words[word] == nil {
                    throw PageSetupError("the template \(name) uses the word \(word), which \(language) lacks")
                }
            }
        }
        return PageLibrary(templates: loaded.set.templates)
    }

    /// The keys of `{{w.key}}`, `{{#w.key}}` and the like in a template.
    static func words(in text: String) -> Set<String> {
        var out: Set<String> = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { break }
            var tag = rest[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if let first = tag.first, "#^/{&".contains(first) { tag.removeFirst() }
            if tag.hasSuffix("}") { tag.removeLast() }
            if tag.hasPrefix("w.") { out.insert(String(tag.dropFirst(2))) }
            rest = rest[close.upperBound...]
        }
        return out
    }

    func render(_ context: PageContext, _ template: Template) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(16_384)
        templates[template.rawValue]?.render(context.value, into: &out, library: templates)
        return String(decoding: out, as: UTF8.self)
    }
}

/// A page setting the service cannot start with.
public struct PageSetupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// What a template sees: the page's model, the reader's words (`w`) and the session's form token (`csrf`).
///
/// Templates read the model's properties by name (through ``TemplateEncoder``); an optional that is `nil` draws
/// nothing, and a section over it is skipped.
struct PageContext {
    let value: TemplateValue

    init(model: some Encodable, w: [String: String], csrf: String) {
        var fields: [String: TemplateValue] = [:]
        if case .object(let members) = TemplateEncoder.encode(model) { fields = members }
        fields["w"] = .words(w)
        fields["csrf"] = .text(csrf)
        value = .object(fields)
    }
}
