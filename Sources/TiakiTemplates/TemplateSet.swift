import Foundation

/// A closed set of templates read from one directory and parsed once: every name must be there and parse, and
/// every partial a template draws must be among them, or loading throws, naming what is wrong. The pages
/// (`TiakiWeb`) and the documents for whānau and privacy officers (`TiakiAudit`) each load theirs at start.
package struct TemplateSet: Sendable {
    package let templates: [String: PageTemplate]

    package struct LoadError: Error, CustomStringConvertible {
        package let description: String
        init(_ description: String) { self.description = description }
    }

    /// The templates `names` (each `NAME.mustache` in `directory`), with their texts for further checks.
    package static func load(
        _ names: [String],
        from directory: String?
    ) throws(LoadError) -> (set: TemplateSet, texts: [String: String]) {
        guard let directory else { throw LoadError("the templates are not in the bundle") }
        var templates: [String: PageTemplate] = [:]
        var texts: [String: String] = [:]
        for name in names {
            let path = directory + "/" + name + ".mustache"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw LoadError("the template \(path) is missing")
            }
            do {
                templates[name] = try PageTemplate(name: name, text: text)
            } catch {
                throw LoadError("the template \(path) does not parse: \(error)")
            }
            texts[name] = text
        }
        for template in templates.values {
            for partial in template.partials where templates[partial] == nil {
                throw LoadError("the template \(template.name) draws the partial \(partial), which is not loaded")
            }
        }
        return (TemplateSet(templates: templates), texts)
    }

    /// `name` drawn over `model` (see ``TemplateEncoder``); empty when the set has no such template, which
    /// ``load(_:from:)`` makes impossible for the names it was given.
    package func render(_ name: String, _ model: some Encodable) -> String {
        guard let template = templates[name] else { return "" }
        var out: [UInt8] = []
        out.reserveCapacity(8192)
        template.render(TemplateEncoder.encode(model), into: &out, library: templates)
        return String(decoding: out, as: UTF8.self)
    }
}
