import Foundation
package import TiakiTemplates

/// The templates of the documents Tiaki prints for people (the IPP 6 report, the notices to whānau, the breach
/// report), under `Resources/Templates`, drawn with the pages' renderer over a typed model each. Loaded once;
/// `tiaki serve` checks them at start (``check()``), so a missing or broken template stops the start rather than
/// printing an empty document.
package enum DocumentTemplates {
    package enum Name: String, CaseIterable, Sendable {
        case report
        case reportBody = "report-body"
        case notice
        case breachReport = "breach-report"
    }

    private static let loaded: Result<TemplateSet, TemplateSet.LoadError> = {
        do throws(TemplateSet.LoadError) {
            return .success(
                try TemplateSet.load(
                    Name.allCases.map(\.rawValue),
                    from: Bundle.module.resourcePath.map { $0 + "/Templates" }
                ).set
            )
        } catch {
            return .failure(error)
        }
    }()

    /// Throws, naming the template, when one is missing or does not parse.
    package static func check() throws(TemplateSet.LoadError) {
        _ = try loaded.get()
    }

    /// `name` drawn over `model`.
    static func render(_ name: Name, _ model: some Encodable) -> String {
        switch loaded {
        case .success(let set): set.render(name.rawValue, model)
        // Unreachable once the start has checked them; a document is never drawn half.
        case .failure(let error): preconditionFailure("the document templates did not load: \(error)")
        }
    }
}
