import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request the HTTP parser could not read (a request line or headers too large, a method or encoding it
/// does not know) with a problem and the security headers, then closes the connection — where Hummingbird would
/// send a bare 400. It sits just after the HTTP codec, so it sees parser errors before the application does.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let tls: Bool
    /// Requests read whose response has not ended: a parser error then cannot be answered in order, only closed.
    private var open = 0
    private var failed = false

    init(tls: Bool) { self.tls = tls }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        if case .head = unwrapInboundIn(data) { open += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { open = max(0, open - 1) }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !failed else { return }
        failed = true
        guard open == 0 else {
            context.close(promise: nil)
            return
        }
        let (status, detail) = Self.describe(parse)
        var problem = Problem(status, code: "malformed-request", title: "The request could not be read", detail: detail)
        problem.field = nil
        let body = problem.body
        var headers: HTTPFields = [
            .contentType: "application/problem+json", .contentLength: String(body.count), .connection: "close",
        ]
        SecurityHeaders.apply(to: &headers, tls: tls)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        let closed = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: closed)
        closed.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
    }

    static func describe(_ error: HTTPParserError) -> (HTTPResponse.Status, String) {
        switch error {
        case .headerOverflow:
            return (
                .init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
                "The request line or headers are larger than the service reads."
            )
        case .invalidMethod, .unknown:
            return (.badRequest, "The request's method is not one HTTP/1.1 knows.")
        case .invalidURL:
            return (.badRequest, "The request's path is not a valid URL path.")
        case .invalidContentLength, .unexpectedContentLength, .invalidChunkSize:
            return (.badRequest, "The request's length or transfer encoding cannot be read.")
        default:
            return (.badRequest, "The request is not valid HTTP/1.1 (\(error)).")
        }
    }
}
