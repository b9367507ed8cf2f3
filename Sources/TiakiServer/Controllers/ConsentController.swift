import Hummingbird
import TiakiAudit
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// Consents and refusals: recording, reading, withdrawing.
struct ConsentController: Sendable {
    let services: TiakiServices
    let input: RequestInput

    struct Created: Encodable {
        var consent: Int
        var receipt: ConsentReceipt
    }

    struct List: Encodable {
        var subject: String
        var consents: [ConsentListItem]
        var refusals: [ConsentListItem]
    }

    struct Withdrawn: Encodable {
        var consent: Int
        var withdrawn: String
        var index: Int
    }

    struct Refused: Encodable {
        var refusal: Int
        var index: Int
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.post("subjects/:subject/consents") { request, context in try await record(request, context) }
        routes.get("subjects/:subject/consents") { request, context in
            let caller = try context.require(.viewChild)
            _ = try Query(request, allowed: [])
            let subject = try services.subject(try context.parameters.require("subject"), visibleTo: caller)
            let items = try services.consents.list(subject: subject.id, for: caller)
            return try Reply.json(
                List(
                    subject: subject.id,
                    consents: items.filter { $0.status != .refused },
                    refusals: items.filter { $0.status == .refused }
                )
            )
        }
        routes.post("subjects/:subject/refusals") { request, context in
            let caller = try context.require(.recordRefusal)
            let subject = try services.subject(try context.parameters.require("subject"), visibleTo: caller)
            let body = try await input.decode(RefusalInput.self, request, as: "a refusal")
            guard body.informed != nil else {
                throw Problem.badRequest(
                    "say how the whānau were told what they were asked: informed (date, noticeVersion, language, method)",
                    field: "informed"
                )
            }
            let recorded = try await services.consents.refuse(subject: subject.id, body, actor: caller.actor)
            return try Reply.json(Refused(refusal: recorded.index, index: recorded.index), status: .created)
        }
        routes.get("consents/:consent") { request, context in
            let caller = try context.require(.readConsent)
            let id = try Path.consent(context)
            let query = try Query(request, allowed: ["format"])
            let format = try query.choice("format", from: ["json", "fhir-r4", "iso27560"]) ?? "json"
            if format == "json" {
                guard let view = try services.consents.view(id, for: caller) else { throw Problem.notFound }
                return try Reply.json(view)
            }
            return try standard(UInt64(id), format: format, for: caller)
        }
        routes.post("consents/:consent/withdraw") { request, context in
            let caller = try context.require(.withdrawConsent)
            let id = try Path.consent(context)
            // Only the organisation that recorded a consent may withdraw it; anyone else is told it is not there.
            guard try services.consents.view(id, for: caller) != nil else { throw Problem.notFound }
            let body = try await input.decode(WithdrawalInput.self, request, as: "a withdrawal")
            let recorded = try await services.consents.withdraw(id, body, actor: caller.actor)
            let date = (recorded.entry.body as? ConsentWithdrawn)?.date ?? ""
            return try Reply.json(Withdrawn(consent: id, withdrawn: date, index: recorded.index))
        }
        return routes
    }

    /// A consent, or a refusal (as a consent the whānau did not give), in a standard format: FHIR R4 `Consent` or
    /// an ISO/IEC TS 27560 record.
    func standard(_ index: UInt64, format: String, for caller: Caller) throws -> Response {
        guard let readable = try services.consents.readable(index, for: caller) else { throw Problem.notFound }
        let core = services.core
        let state = core.snapshot
        guard
            var record = try ConsentRecords(
                state: state,
                entry: { try core.entry(at: $0) },
                words: { sealed, subject in
                    guard caller.may(.readPersonalDetails) else { return ConsentRecords.sealedWords }
                    return (try? core.unseal(Sealed(token: sealed), subject: subject)).flatMap { $0 } ?? "(sealed)"
                }
            ).record(index, on: core.today)
        else { throw Problem.notFound }
        record.consenterNames = readable.consenterNames
        let systems = CodeSystems(
            origin: services.ledger.origin,
            vocabulary: core.vocabulary,
            policy: state.currentPolicy
        )
        if format == "fhir-r4" {
            return try Reply.json(value: FHIRConsent.resource(record, systems), contentType: FHIRConsent.contentType)
        }
        return try Reply.json(value: ISO27560Record.record(record, systems), contentType: ISO27560Record.contentType)
    }

    /// Records a consent and answers with its receipt: the entry, its inclusion proof and the checkpoint.
    func record(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.recordConsent)
        let subject = try services.subject(try context.parameters.require("subject"), visibleTo: caller)
        let body = try await input.decode(ConsentInput.self, request, as: "a consent")
        let recorded = try await services.consents.grant(subject: subject.id, body, actor: caller.actor)
        guard let terms = recorded.entry.body as? ConsentTerms else { throw Problem.internalError }
        let proof = try services.ledger.inclusionProof(
            index: recorded.receipt.index,
            size: recorded.receipt.checkpoint.size
        )
        let receipt = ConsentReceipt(
            entry: recorded.receipt.entry,
            index: recorded.receipt.index,
            proof: proof.hashes,
            checkpoint: recorded.receipt.checkpoint,
            vkey: services.ledger.verifier.vkey,
            terms: terms,
            opened: try services.consents.view(recorded.index, for: caller)?.terms,
            vocabulary: ConsentSummary.labels(services.core.vocabulary)
        )
        return try Reply.json(Created(consent: recorded.index, receipt: receipt), status: .created)
    }
}
