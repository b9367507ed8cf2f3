import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TiakiAudit
import TiakiConsent
import TiakiLedger
import TiakiPolicy

/// The `/v1` routes. Each checks the caller's role; a member sees and acts on its own organisation's subjects only,
/// and a subject of another organisation is answered as if it did not exist.
struct API: Sendable {
    let service: DecisionService
    let dataDirectory: String
    let bodyLimit: Int
    let metrics: ServiceMetrics
    var registry: ConsentRegistry { service.registry }

    func addRoutes(to router: Router<TiakiRequestContext>) {
        router.get("/healthz") { _, _ in
            json(["status": "ok", "entries": .number(Double(registry.ledger.checkpoint.size))])
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(
                    byteBuffer: ByteBuffer(string: metrics.exposition(ledgerSize: registry.ledger.checkpoint.size))
                )
            )
        }
        let v1 = router.group("v1")
        v1.get("openapi.yaml") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text))
            )
        }
        // Ledger: checkpoint and key are public; entries and proofs for auditors and privacy officers.
        v1.get("ledger/checkpoint") { _, _ in text(registry.ledger.checkpoint.text) }
        v1.get("ledger/vkey") { _, _ in text(registry.ledger.verifier.vkey + "\n") }
        v1.get("ledger/entries") { request, context in try entries(request, context) }
        v1.get("ledger/proofs/inclusion") { request, context in try inclusionProof(request, context) }
        v1.get("ledger/proofs/consistency") { request, context in try consistencyProof(request, context) }
        // Administration.
        v1.post("orgs") { request, context in try await addOrganisation(request, context) }
        v1.post("credentials") { request, context in try await addCredential(request, context) }
        v1.post("credentials/:id/revoke") { request, context in try await revokeCredential(request, context) }
        // Subjects and consents.
        v1.post("subjects") { request, context in try await registerSubject(request, context) }
        v1.get("subjects") { request, context in try findSubject(request, context) }
        v1.post("subjects/:subject/consents") { request, context in try await recordConsent(request, context) }
        v1.get("subjects/:subject/consents") { request, context in try listConsents(request, context) }
        v1.get("consents/:consent") { request, context in try readConsent(request, context) }
        v1.post("consents/:consent/withdraw") { request, context in try await withdraw(request, context) }
        v1.post("subjects/:subject/erase") { request, context in try await erase(request, context) }
        // Decisions and disclosures.
        v1.post("decisions") { request, context in try await decide(request, context) }
        v1.post("disclosures") { request, context in try await disclose(request, context) }
        // Audit.
        v1.post("disclosures/:disclosure/review") { request, context in try await review(request, context) }
        v1.get("subjects/:subject/report") { request, context in try report(request, context) }
        v1.get("findings") { request, context in try await findings(request, context) }
    }

    // MARK: Ledger

    func entries(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        _ = try context.require(.auditor, .privacyOfficer)
        let size = registry.ledger.checkpoint.size
        let start = try query(request, "start", default: 0)
        // At most 1,000 entries a page; `start` may be anything a UInt64 holds, so the sum is clamped, not trapped.
        let pageEnd = start > UInt64.max - 1000 ? UInt64.max : start + 1000
        let end = min(try query(request, "end", default: min(size, pageEnd)), pageEnd)
        guard start <= end else { throw Problem.badRequest("start must not be after end", field: "start") }
        var body: [UInt8] = []
        for entry in try registry.ledger.entries(in: start..<end) {
            body += entry
            body.append(0x0A)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-ndjson"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    func inclusionProof(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        _ = try context.authenticated()
        let size = try query(request, "size", default: registry.ledger.checkpoint.size)
        let index = try query(request, "index", default: UInt64.max)
        guard index != UInt64.max else { throw Problem.badRequest("give the entry's index", field: "index") }
        let proof = try registry.ledger.inclusionProof(index: index, size: size)
        return json([
            "index": .number(Double(index)), "size": .number(Double(size)),
            "hashes": .array(proof.hashes.map { .string($0.hex) }),
        ])
    }

    func consistencyProof(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        _ = try context.authenticated()
        let to = try query(request, "to", default: registry.ledger.checkpoint.size)
        let from = try query(request, "from", default: UInt64.max)
        guard from != UInt64.max else { throw Problem.badRequest("give the earlier size", field: "from") }
        let proof = try registry.ledger.consistencyProof(from: from, to: to)
        return json([
            "from": .number(Double(from)), "to": .number(Double(to)), "hashes": .array(proof.map { .string($0.hex) }),
        ])
    }

    // MARK: Administration

    struct OrganisationInput: Decodable {
        var id: String
        var kind: String
        var name: String
    }

    func addOrganisation(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.admin)
        let input = try await decode(OrganisationInput.self, request)
        let recorded = try await registry.registerOrganisation(
            id: input.id,
            kind: input.kind,
            name: input.name,
            actor: caller.actor
        )
        return json(["id": .string(input.id), "index": .number(Double(recorded.index))], status: .created)
    }

    struct CredentialInput: Decodable {
        var org: String
        var role: String
    }

    func addCredential(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.admin)
        let input = try await decode(CredentialInput.self, request)
        guard let role = Role(rawValue: input.role) else {
            throw Problem.badRequest(
                "role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "role"
            )
        }
        let issued = try await registry.issueCredential(org: input.org, role: role, actor: caller.actor)
        return json(
            [
                "id": .string(issued.id), "org": .string(input.org), "role": .string(role.rawValue),
                "token": .string(issued.token), "index": .number(Double(issued.recorded.index)),
            ],
            status: .created
        )
    }

    func revokeCredential(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.admin)
        let id = try context.parameters.require("id")
        let recorded = try await registry.revokeCredential(id: id, actor: caller.actor)
        return json(["id": .string(id), "revoked": true, "index": .number(Double(recorded.index))])
    }

    // MARK: Subjects and consents

    func registerSubject(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.member)
        let input = try await decode(SubjectInput.self, request)
        let recorded = try await registry.registerSubject(input, actor: caller.actor)
        return json(
            ["subject": .string(recorded.entry.subject ?? ""), "index": .number(Double(recorded.index))],
            status: .created
        )
    }

    func findSubject(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        let caller = try context.require(.member)
        let nsn = request.uri.queryParameters.get("nsn")
        let reference = request.uri.queryParameters.get("localReference")
        guard nsn != nil || reference != nil else {
            throw Problem.badRequest("give nsn or localReference", field: "nsn")
        }
        let found = try registry.findSubject(nsn: nsn, org: caller.org, localReference: reference)
        guard let found, try ownSubject(found, caller) else { throw Problem.notFound }
        return json(["subject": .string(found)])
    }

    /// Whether `caller` may see `subject`: members their own organisation's, facilitators and privacy officers any.
    func ownSubject(_ subject: String, _ caller: Caller) throws -> Bool {
        let org = registry.withState { $0.subjects[subject]?.org }
        guard let org else { return false }
        return caller.role != .member || org == caller.org
    }

    func recordConsent(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.member)
        let subject = try context.parameters.require("subject")
        guard try ownSubject(subject, caller) else { throw Problem.notFound }
        let input = try await body(request)
        let recorded = try await registry.grantConsent(subject: subject, input, actor: caller.actor)
        let proof = try registry.ledger.inclusionProof(
            index: recorded.receipt.index,
            size: recorded.receipt.checkpoint.size
        )
        guard case .consentGranted(let terms) = recorded.entry.body else { throw Problem.notFound }
        let receipt = ConsentReceipt(
            entry: recorded.receipt.entry,
            index: recorded.receipt.index,
            proof: proof.hashes,
            checkpoint: recorded.receipt.checkpoint,
            vkey: registry.ledger.verifier.vkey,
            terms: terms,
            vocabulary: ConsentSummary.labels(registry.vocabulary)
        )
        return json(
            ["consent": .number(Double(recorded.index)), "receipt": try JSONValueEncoder().encode(receipt)],
            status: .created
        )
    }

    func listConsents(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        let caller = try context.require(.member, .facilitator, .privacyOfficer)
        let subject = try context.parameters.require("subject")
        guard try ownSubject(subject, caller) else { throw Problem.notFound }
        let consents = registry.withState { $0.consents(of: subject) }
        let today = Day(Date())
        return json(["subject": .string(subject), "consents": .array(consents.map { summary($0, today: today) })])
    }

    func summary(_ c: ConsentState.Consent, today: Day) -> JSONValue {
        let codes = registry.withState { $0.codes }
        var o: [String: JSONValue] = [
            "consent": .number(Double(c.id)),
            "purposes": .array(codes.codes(in: c.purposes, .purpose).map { .string($0) }),
            "information": .array(codes.codes(in: c.information, .information).map { .string($0) }),
            "retentionUntil": .string(c.retentionUntil.description),
            "current": .bool(c.isCurrent(on: today)),
        ]
        if let w = c.withdrawn { o["withdrawn"] = .string(w.date.description) }
        if let s = c.supersededBy { o["supersededBy"] = .number(Double(s)) }
        return .object(o)
    }

    /// One consent as recorded. Members see their own subjects' consenter names unsealed; facilitators and privacy
    /// officers see the record without them.
    func readConsent(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        let caller = try context.require(.member, .facilitator, .privacyOfficer)
        guard let id = Int(try context.parameters.require("consent")) else { throw Problem.notFound }
        let known = registry.withState { $0.consents[id] }
        guard let known, try ownSubject(known.subject, caller) else { throw Problem.notFound }
        guard id >= 0, let bytes = try registry.ledger.entry(at: UInt64(id)),
            case .consentGranted(var terms) = try ConsentEntry(bytes: bytes).body
        else { throw Problem.notFound }
        var names: [JSONValue] = []
        for i in terms.consenters.indices {
            if caller.role == .member, let sealed = terms.consenters[i].nameSealed {
                names.append((try registry.unseal(sealed, subject: known.subject)).map { .string($0) } ?? .null)
            } else {
                names.append(.null)
            }
            terms.consenters[i].nameSealed = nil
        }
        var value = try JSONValueEncoder().encode(terms)
        if case .object(var o) = value {
            o["consent"] = .number(Double(id))
            o["subject"] = .string(known.subject)
            o["current"] = .bool(known.isCurrent(on: Day(Date())))
            if caller.role == .member { o["consenterNames"] = .array(names) }
            if let w = known.withdrawn { o["withdrawn"] = ["date": .string(w.date.description), "by": .string(w.by)] }
            if let s = known.supersededBy { o["supersededBy"] = .number(Double(s)) }
            value = .object(o)
        }
        return json(value)
    }

    struct WithdrawalInput: Decodable {
        var by: String
        var date: String?
        var reason: String?
    }

    func withdraw(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.member)
        guard let id = Int(try context.parameters.require("consent")) else { throw Problem.notFound }
        let known = registry.withState { $0.consents[id] }
        guard let known, try ownSubject(known.subject, caller) else { throw Problem.notFound }
        let input = try await decode(WithdrawalInput.self, request)
        let recorded = try await registry.withdrawConsent(
            id,
            by: input.by,
            date: input.date,
            reason: input.reason,
            actor: caller.actor
        )
        return json([
            "consent": .number(Double(id)), "withdrawn": .string(input.date ?? Day(Date()).description),
            "index": .number(Double(recorded.index)),
        ])
    }

    struct ErasureInput: Decodable {
        var reason: String
    }

    /// Erases a child's personal details (privacy officers): `subject.erased` is recorded, then the key and lookup
    /// rows are destroyed.
    func erase(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.privacyOfficer)
        let subject = try context.parameters.require("subject")
        guard try ownSubject(subject, caller) else { throw Problem.notFound }
        let input = try await decode(ErasureInput.self, request)
        let recorded = try await registry.eraseSubject(subject, reason: input.reason, actor: caller.actor)
        return json(["subject": .string(subject), "erased": true, "index": .number(Double(recorded.index))])
    }

    // MARK: Decisions and disclosures

    struct DecisionInput: Decodable {
        var subject: String
        var purpose: String
        var information: [String]
        var recipient: String
        var channel: String
        var storageRegion: String
        var date: String?
        var seriousThreat: Bool?
    }

    /// Decides, records the decision (permit or deny) and only then answers.
    func decide(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.member, .facilitator)
        let input = try await decode(DecisionInput.self, request)
        guard try ownSubject(input.subject, caller) else { throw Problem.notFound }
        let share = ShareRequest(
            subject: input.subject,
            purpose: input.purpose,
            information: input.information,
            recipient: input.recipient,
            channel: input.channel,
            storageRegion: input.storageRegion,
            date: input.date ?? Day(Date()).description,
            seriousThreat: input.seriousThreat,
            requester: caller.org,
            requesterRole: caller.role.rawValue
        )
        let (decision, recorded) = try await service.decideAndRecord(share, actor: caller.actor)
        metrics.decided(decision.effect)
        // The body as it was written to the ledger, with the entry's index and the checkpoint that covers it.
        guard case .object(var o) = recorded.body else { throw Problem.notFound }
        o["decision"] = .number(Double(recorded.index))
        o["checkpoint"] = .string(recorded.receipt.checkpoint.text)
        return json(.object(o), status: .created)
    }

    struct DisclosureInput: Decodable {
        var subject: String
        var decision: Int?
        var recipient: String
        var purpose: String
        var information: [String]
        var channel: String
        var storageRegion: String
        var date: String?
        var note: String?
    }

    func disclose(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.member, .facilitator)
        let input = try await decode(DisclosureInput.self, request)
        guard try ownSubject(input.subject, caller) else { throw Problem.notFound }
        let record = DisclosureRecord(
            decision: input.decision,
            recipient: input.recipient,
            purpose: input.purpose,
            information: input.information,
            channel: input.channel,
            storageRegion: input.storageRegion,
            date: input.date ?? Day(Date()).description
        )
        let recorded = try await registry.recordDisclosure(
            subject: input.subject,
            record,
            note: input.note,
            actor: caller.actor
        )
        guard case .disclosure(let body) = recorded.entry.body else { throw Problem.notFound }
        return json(
            ["disclosure": .number(Double(recorded.index)), "flags": .array(body.flags.map { .string($0) })],
            status: .created
        )
    }

    // MARK: Audit

    struct ReviewInput: Decodable {
        var outcome: String
        var date: String?
        var notes: String?
    }

    /// A privacy officer's review of a disclosure (after a serious-threat share).
    func review(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        let caller = try context.require(.privacyOfficer)
        guard let id = Int(try context.parameters.require("disclosure")) else { throw Problem.notFound }
        let input = try await decode(ReviewInput.self, request)
        let recorded = try await registry.reviewDisclosure(
            id,
            outcome: input.outcome,
            date: input.date,
            notes: input.notes,
            actor: caller.actor
        )
        return json(
            [
                "disclosure": .number(Double(id)), "outcome": .string(input.outcome),
                "index": .number(Double(recorded.index)),
            ],
            status: .created
        )
    }

    /// Everything recorded about one child (IPP 6), as JSON, HTML or text; read through the subject index.
    func report(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        _ = try context.require(.privacyOfficer)
        let subject = try context.parameters.require("subject")
        guard registry.withState({ $0.subjects[subject] != nil }) else { throw Problem.notFound }
        let format = request.uri.queryParameters.get("format") ?? "json"
        guard ["json", "html", "text"].contains(format) else {
            throw Problem.badRequest("format must be json, html or text", field: "format")
        }
        guard
            let report = try SubjectReport.load(
                subject: subject,
                from: registry.ledger,
                asOf: Day(Date()),
                unseal: { sealed in try? registry.unseal(sealed, subject: subject) }
            )
        else { throw Problem.notFound }
        switch format {
        case "html":
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: report.html))
            )
        case "text": return text(report.text)
        default:
            return json(bytes: try report.json())
        }
    }

    /// The findings over the whole ledger (read through its own read-only connection, off the event loop).
    func findings(_ request: Request, _ context: TiakiRequestContext) async throws -> Response {
        _ = try context.require(.privacyOfficer)
        let parameters = request.uri.queryParameters
        var options = AuditOptions(asOf: Day(Date()))
        if let asOf = parameters.get("asOf") {
            guard let day = Day(asOf) else { throw Problem.badRequest("asOf must be YYYY-MM-DD", field: "asOf") }
            options.asOf = day
        }
        if let since = parameters.get("since") {
            guard Day(String(since.prefix(10))) != nil else {
                throw Problem.badRequest("since must be YYYY-MM-DD or an RFC 3339 time", field: "since")
            }
            options.since = since
        }
        if let within = parameters.get("within") {
            guard let days = Int(within), (0...3660).contains(days) else {
                throw Problem.badRequest("within must be a number of days, 0 to 3660", field: "within")
            }
            options.expiringWithinDays = days
        }
        let path = dataDirectory
        let chosen = options
        let result = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try LedgerAudit.run(EntryReader(path: path), options: chosen) })
            }
        }
        var bytes = try result.findingsJSON(options: options)
        bytes.append(0x0A)
        return json(bytes: bytes)
    }

    // MARK: Helpers

    func body(_ request: Request) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: bodyLimit)
        } catch {
            throw Problem(
                .contentTooLarge,
                code: "too-large",
                title: "Too large",
                detail: "The request body is larger than \(bodyLimit) bytes."
            )
        }
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: Self.maximumDepth).parse(Array(buffer.readableBytesView))
        } catch {
            throw Problem.badRequest("the body is not valid JSON: \(error)", code: "malformed-json")
        }
        if let field = Self.overlongArray(in: value, path: "") {
            throw Problem(
                .contentTooLarge,
                code: "too-large",
                title: "Too large",
                detail: "\(field.isEmpty ? "the body" : field) has more than \(Self.maximumArrayLength) items",
                field: field.isEmpty ? nil : field
            )
        }
        return value
    }

    /// Request bodies nest at most this deep and no list in them is longer than this.
    static let maximumDepth = 32
    static let maximumArrayLength = 100

    /// The path of the first array longer than the limit, or `nil`.
    static func overlongArray(in value: JSONValue, path: String) -> String? {
        switch value {
        case .array(let items):
            if items.count > maximumArrayLength { return path }
            for (i, item) in items.enumerated() {
                if let found = overlongArray(in: item, path: "\(path)[\(i)]") { return found }
            }
        case .object(let members):
            for key in members.keys.sorted() {
                if let value = members[key],
                    let found = overlongArray(in: value, path: path.isEmpty ? key : "\(path).\(key)")
                {
                    return found
                }
            }
        default: break
        }
        return nil
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let value = try await body(request)
        do {
            return try JSONValueDecoder().decode(type, from: value)
        } catch {
            let (field, message) = JSONValueDecoder.describe(error)
            throw Problem.badRequest(message, field: field.isEmpty ? nil : field)
        }
    }

    func query(_ request: Request, _ name: String, default value: UInt64) throws -> UInt64 {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let n = UInt64(text) else { throw Problem.badRequest("\(name) must be a whole number", field: name) }
        return n
    }
}

func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    var bytes = (try? CanonicalJSON.encode(value)) ?? []
    bytes.append(0x0A)
    return json(bytes: bytes, status: status)
}

/// A JSON body already encoded.
func json(bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: bytes))
    )
}

func text(_ string: String) -> Response {
    Response(
        status: .ok,
        headers: [.contentType: "text/plain; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(string: string))
    )
}
