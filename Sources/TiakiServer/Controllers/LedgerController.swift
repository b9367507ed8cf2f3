import Hummingbird
import NIOCore
import TiakiConsent
import TiakiHTTP
import TiakiLedger
import TiakiModel

/// The ledger for anyone who checks it: the checkpoint and key (public), entries (auditors and privacy officers)
/// and proofs (anyone signed in).
struct LedgerController: Sendable {
    let services: TiakiServices
    /// With witnesses: the newest checkpoint a quorum cosigned is the one served.
    var cosigning: WitnessCosigning? = nil
    var ledger: Ledger { services.ledger }

    /// Entries one request may read.
    static let page: UInt64 = 1000

    struct Proof: Encodable {
        var index: UInt64?
        var size: UInt64?
        var from: UInt64?
        var to: UInt64?
        var hashes: [String]
    }

    var routes: RouteCollection<TiakiRequestContext> {
        let routes = RouteCollection(context: TiakiRequestContext.self)
        routes.get("checkpoint") { request, _ in
            let query = try Query(request, allowed: ["latest"])
            let latest = try query.choice("latest", from: ["true", "false"]) == "true"
            guard let cosigning, !latest else { return Reply.text(ledger.checkpoint.text) }
            guard let cosigned = cosigning.cosigned else {
                throw Problem.unavailable(
                    "No checkpoint has been cosigned by \(cosigning.quorum) of the \(cosigning.witnesses.count) witnesses yet; "
                        + "?latest=true gives the newest checkpoint, signed by the log alone."
                )
            }
            return Reply.text(cosigned.text)
        }
        routes.get("vkey") { request, _ in
            _ = try Query(request, allowed: [])
            return Reply.text(ledger.verifier.vkey + "\n")
        }
        routes.get("entries") { request, context in try entries(request, context) }
        routes.get("export") { request, context in
            _ = try context.require(.readLedger)
            _ = try Query(request, allowed: [])
            return try ledger.archive().response(logger: context.logger)
        }
        routes.get("proofs/inclusion") { request, context in
            _ = try context.require(.readProofs)
            let query = try Query(request, allowed: ["index", "size"])
            guard let index = try query.integer("index") else {
                throw Problem.badRequest("give the entry's index", field: "index")
            }
            let size = try query.integer("size") ?? ledger.checkpoint.size
            let proof = try ledger.inclusionProof(index: index, size: size)
            return try Reply.json(Proof(index: index, size: size, hashes: proof.hashes.map(\.hex)))
        }
        routes.get("proofs/consistency") { request, context in
            _ = try context.require(.readProofs)
            let query = try Query(request, allowed: ["from", "to"])
            guard let from = try query.integer("from") else {
                throw Problem.badRequest("give the earlier size", field: "from")
            }
            let to = try query.integer("to") ?? ledger.checkpoint.size
            let proof = try ledger.consistencyProof(from: from, to: to)
            return try Reply.json(Proof(from: from, to: to, hashes: proof.map(\.hex)))
        }
        return routes
    }

    /// Entries as JSON lines, each exactly the stored bytes; at most ``page`` at once.
    func entries(_ request: Request, _ context: TiakiRequestContext) throws -> Response {
        _ = try context.require(.readLedger)
        let query = try Query(request, allowed: ["start", "end"])
        let size = ledger.checkpoint.size
        let start = try query.integer("start") ?? 0
        let end = min(try query.integer("end") ?? min(size, start + Self.page), start + Self.page)
        guard start <= end else { throw Problem.badRequest("start must not be after end", field: "start") }
        var body: [UInt8] = []
        for entry in try ledger.entries(in: start..<end) {
            body += entry
            body.append(0x0A)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-ndjson"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
