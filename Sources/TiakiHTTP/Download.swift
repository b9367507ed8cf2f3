public import Hummingbird
public import Logging
public import TiakiLedger

extension LedgerArchive {
    /// The archive as a download, streamed with its length known from the start (`GET /v1/ledger/export` and the
    /// auditors' page both answer with this).
    public func response(logger: Logger) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "application/x-tar",
                .contentDisposition: "attachment; filename=\"\(folder).tar\"",
                .cacheControl: "no-store",
            ],
            body: ResponseBody(contentLength: Int(byteCount)) { writer in
                do {
                    try await write { try await writer.write(ByteBuffer(bytes: $0)) }
                } catch {
                    // The length was promised: stopping short tells the reader the archive is incomplete.
                    logger.error("export stopped", metadata: ["error": "\(error)"])
                    throw error
                }
                try await writer.finish(nil)
            }
        )
    }
}
