import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import TiakiHTTP

/// Answers a request the HTTP parser could not read (a request line or headers too large, a method, a length or a
/// chunk it cannot read) with a problem and the security headers, then closes the connection — where Hummingbird
/// would send a bare 400. It sits just after the HTTP codec, so it sees parser errors before the application does.
///
/// When a response has already begun on the connection, another cannot be put before it: the connection is closed.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let tls: Bool
    /// Whether a response head has been written and its end not yet.
    private var responding = false
    private var failed = false

    init(tls: Bool) { self.tls = tls }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responding = true
        case .end: responding = false
        case .body: break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !failed else { return }
        failed = true
        guard !responding else {
            context.close(promise: nil)
            return
        }
        let (status, detail) = Self.describe(parse)
        let body = Problem(status, code: "malformed-request", title: "The request could not be read", detail: detail)
            .body
        var headers: HTTPFields = [
            .contentType: "application/problem+json", .contentLength: String(body.count), .connection: "close",
        ]
        SecurityHeaders.apply(to: &headers, tls: tls)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
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
