import Foundation
import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// The vocabulary's codes as code systems, so that a coding in a FHIR or ISO 27560 record resolves: public, as
/// the policy set that defines them is published in the ledger.
struct VocabularyController: Sendable {
    let services: TiakiServices

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.get("vocabulary") { request, _ in
            let format = try Self.format(request)
            let systems = codeSystems
            if format == "fhir-r4" {
                let resources = Vocabulary.Dimension.allCases.map { FHIRConsent.codeSystem($0, systems) }
                return try Reply.json(
                    value: FHIRConsent.bundle(resources, timestamp: LedgerTime.format(Date())),
                    contentType: FHIRConsent.contentType
                )
            }
            return try Reply.json(value: systems.json())
        }
        routes.get("vocabulary/:dimension") { request, context in
            let format = try Self.format(request)
            let name = try context.parameters.require("dimension")
            guard let dimension = Vocabulary.Dimension(rawValue: name) else {
                let known = Vocabulary.Dimension.allCases.map(\.rawValue)
                let hint = nearest(name, in: known).map { "; did you mean \($0)?" } ?? ""
                throw Problem.notFound(
                    "there is no code system \(name)\(hint) (there are \(known.joined(separator: ", ")))"
                )
            }
            if format == "fhir-r4" {
                return try Reply.json(
                    value: FHIRConsent.codeSystem(dimension, codeSystems),
                    contentType: FHIRConsent.contentType
                )
            }
            return try Reply.json(value: codeSystems.json(dimension))
        }
        return routes
    }

    var codeSystems: CodeSystems {
        CodeSystems(
            origin: services.ledger.origin,
            vocabulary: services.core.vocabulary,
            policy: services.core.read { $0.currentPolicy }
        )
    }

    static func format(_ request: Request) throws -> String {
        try Query(request, allowed: ["format"]).choice("format", from: ["json", "fhir-r4"]) ?? "json"
    }
}
