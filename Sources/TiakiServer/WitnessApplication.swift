import Foundation
public import Hummingbird
public import Logging
import NIOCore
public import TiakiLedger

/// `tiaki witness serve`: a C2SP tlog-witness over HTTP, `POST /add-checkpoint`, for any log it was given the key
/// of (other clusters' Tiaki included).
public func buildWitnessApplication(
    witness: Witness,
    host: String,
    port: Int,
    logger: Logger,
    onReady: (@Sendable (Int) -> Void)? = nil
) -> some ApplicationProtocol {
    let router = Router()
    router.post("add-checkpoint") { request, _ -> Response in
        let body = try await request.body.collect(upTo: Witness.maximumRequestBytes + 1)
        let answer = witness.addCheckpoint(Array(buffer: body))
        var entry = logger
        entry[metadataKey: "status"] = "\(answer.status)"
        if answer.status == 200 {
            entry.info("cosigned")
        } else {
            entry.notice("refused", metadata: ["why": "\(answer.body.trimmingCharacters(in: .newlines))"])
        }
        return Response(
            status: .init(code: answer.status),
            headers: [.contentType: answer.contentType],
            body: .init(byteBuffer: ByteBuffer(string: answer.body))
        )
    }
    router.get("/") { _, _ -> Response in
        let logs = witness.logs.keys.sorted().joined(separator: ", ")
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(
                byteBuffer: ByteBuffer(
                    string: "C2SP tlog-witness \(witness.cosigner.verifier.vkey)\nlogs: \(logs)\n"
                )
            )
        )
    }
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "tiaki-witness"),
        onServerRunning: { channel in onReady?(channel.localAddress?.port ?? port) },
        logger: logger
    )
}
