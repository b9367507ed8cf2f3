import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TiakiConsent
import TiakiHTTP

/// `Idempotency-Key` on the API's POSTs (as the IETF httpapi draft describes it): a client that retries a request
/// with the same key and the same body gets the first answer again and nothing is recorded twice; the same key with
/// another body is refused (422); a retry while the first is still running is refused (409).
///
/// Answers are kept per credential, in this instance's memory, for ``lifetime`` and at most ``perCredential`` of
/// them; a 2xx answer is kept (something was recorded), any other is forgotten so that the request may be tried
/// again. A client that sends its retry to another instance sharing the ledger is not recognised there.
final class IdempotencyStore: Sendable {
    enum Slot: Sendable {
        case running(digest: [UInt8])
        case answered(
            digest: [UInt8],
            status: HTTPResponse.Status,
            headers: HTTPFields,
            body: ByteBuffer,
            at: ContinuousClock.Instant
        )
    }

    let lifetime: Duration
    let perCredential: Int
    private let slots = Mutex<[String: [String: Slot]]>([:])

    init(lifetime: Duration = .seconds(24 * 3600), perCredential: Int = 1000) {
        self.lifetime = lifetime
        self.perCredential = perCredential
    }

    enum Claim {
        case fresh
        case replay(Response)
        case running
        case mismatch
    }

    func claim(credential: String, key: String, digest: [UInt8], now: ContinuousClock.Instant = .now) -> Claim {
        slots.withLock { all in
            var mine = all[credential] ?? [:]
            mine = mine.filter {
                if case .answered(_, _, _, _, let at) = $0.value { return now - at < lifetime }
                return true
            }
            defer { all[credential] = mine }
            switch mine[key] {
            case .running(let d): return d == digest ? .running : .mismatch
            case .answered(let d, let status, let headers, let body, _):
                guard d == digest else { return .mismatch }
                var headers = headers
                headers[HTTPField.Name("Idempotent-Replayed") ?? .via] = "true"
                return .replay(Response(status: status, headers: headers, body: .init(byteBuffer: body)))
            case nil:
                guard mine.count < perCredential else {
                    // Full: the oldest answers make room (a key older than that cannot be replayed).
                    let oldest = mine.compactMap { k, v -> (String, ContinuousClock.Instant)? in
                        if case .answered(_, _, _, _, let at) = v { return (k, at) }
                        return nil
                    }.sorted { $0.1 < $1.1 }.prefix(max(1, perCredential / 10))
                    for (k, _) in oldest { mine[k] = nil }
                    if mine.count >= perCredential { return .running }
                    mine[key] = .running(digest: digest)
                    return .fresh
                }
                mine[key] = .running(digest: digest)
                return .fresh
            }
        }
    }

    func finish(credential: String, key: String, _ slot: Slot?) {
        slots.withLock { all in all[credential]?[key] = slot }
    }
}

struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = TiakiRequestContext
    let store: IdempotencyStore
    let bodyLimit: Int

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method == .post, let name = HTTPField.Name("Idempotency-Key"),
            let key = request.headers[name], let caller = context.caller
        else { return try await next(request, context) }
        guard !key.isEmpty, key.utf8.count <= 255, key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw Problem.badRequest(
                "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID, say)",
                code: "invalid-idempotency-key"
            )
        }
        let body = try await request.body.collect(upTo: bodyLimit)
        var hash = SHA256()
        hash.update(data: Array(request.uri.path.utf8))
        hash.update(data: [0])
        hash.update(data: Array(body.readableBytesView))
        let digest = Array(hash.finalize())
        switch store.claim(credential: caller.credential, key: key, digest: digest) {
        case .replay(let response): return response
        case .running:
            throw Problem(
                .conflict,
                code: "idempotency-key-in-use",
                title: "Already being handled",
                detail: "A request with this Idempotency-Key is being handled now; wait for its answer, then retry."
            )
        case .mismatch:
            throw Problem(
                .unprocessableContent,
                code: "idempotency-key-reused",
                title: "Idempotency-Key used for another request",
                detail:
                    "This Idempotency-Key was used with another request body; nothing was recorded. Use a new key for a new request."
            )
        case .fresh: break
        }
        var replayed = request
        replayed.body = .init(buffer: body)
        do {
            let response = try await next(replayed, context)
            guard (200..<300).contains(response.status.code) else {
                store.finish(credential: caller.credential, key: key, nil)
                return response
            }
            let sink = Sink()
            var out = response
            try await response.body.write(SinkWriter(sink: sink))
            out.body = .init(byteBuffer: sink.buffer)
            store.finish(
                credential: caller.credential,
                key: key,
                .answered(
                    digest: digest,
                    status: response.status,
                    headers: response.headers,
                    body: sink.buffer,
                    at: .now
                )
            )
            return out
        } catch {
            store.finish(credential: caller.credential, key: key, nil)
            throw error
        }
    }

    /// Where a response's body is gathered to be kept.
    final class Sink {
        var buffer = ByteBuffer()
    }

    struct SinkWriter: ResponseBodyWriter {
        let sink: Sink
        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            sink.buffer.writeBuffer(&buffer)
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
