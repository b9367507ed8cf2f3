import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// What a connection may cost the service, whoever holds it open.
public struct ConnectionLimits: Sendable {
    /// From the first byte of a request to the end of its head (request line and headers): a client that sends a
    /// header every few seconds is closed when this passes.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// The most time between two reads while a request's body arrives.
    public var bodyReadTimeout: Duration = .seconds(10)
    /// How long a kept-alive connection may wait, idle, for its next request.
    public var idleTimeout: Duration = .seconds(60)
    /// Connections open at once; beyond it a new connection is closed as soon as it is accepted, never queued.
    /// `nil` takes it from the process's open-file limit, leaving room for the ledger's files.
    public var maximumConnections: Int?

    public init() {}

    /// The cap in force: as set, or the open-file limit less a reserve for the database, keys and logs.
    var cap: Int {
        if let maximumConnections { return max(1, maximumConnections) }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let soft = Int(clamping: limit.rlim_cur)
        return max(16, min(soft - 64, 16_384))
    }
}

/// Counts the connections open now, across every event loop.
final class ConnectionCount: Sendable {
    let open = Atomic<Int>(0)
    let cap: Int

    init(cap: Int) { self.cap = cap }
}

/// A request's progress, told by ``RequestProgress`` (after the HTTP codec) to ``ConnectionGuard`` (before it),
/// which sees only bytes.
enum RequestEvent: Sendable {
    case headReceived, requestEnded, responseEnded
}

/// Sits after the HTTP codec: tells the connection's guard when a request's head and end arrived and when its
/// response ended; and closes the connection after a response that refused the body as too large, so that the rest
/// of that body is never read.
final class RequestProgress: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var closeAfterResponse = false
    private var requestOpen = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestOpen = true
            context.triggerUserOutboundEvent(RequestEvent.headReceived, promise: nil)
        case .end:
            requestOpen = false
            context.triggerUserOutboundEvent(RequestEvent.requestEnded, promise: nil)
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response):
            // A body refused as too large is not read on: the connection closes once this answer is written.
            if response.status == .contentTooLarge, requestOpen {
                closeAfterResponse = true
                response.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(response)), promise: promise)
                return
            }
        case .end:
            if closeAfterResponse {
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.cascade(to: promise)
                context.writeAndFlush(data, promise: written)
                written.futureResult.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
                return
            }
            context.triggerUserOutboundEvent(RequestEvent.responseEnded, promise: nil)
        case .body: break
        }
        context.write(data, promise: promise)
    }
}

/// Sits before the HTTP codec, on the connection's bytes: counts the connection against the cap (closing it at once
/// when over), and closes it when a request's head takes longer than its timeout to arrive, when a body stops
/// arriving, or when the connection is idle between requests for longer than the idle timeout.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase { case idle, head, body, responding }

    let limits: ConnectionLimits
    let count: ConnectionCount
    private var counted = false
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?

    init(limits: ConnectionLimits, count: ConnectionCount) {
        self.limits = limits
        self.count = count
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let now = count.open.add(1, ordering: .relaxed).newValue
        guard now <= count.cap else {
            // Beyond the cap: refused at once, so that what is open keeps being served. It gives its place back
            // now, not when its close completes: a connection refused a moment ago must not make the next one,
            // arriving before that close, look beyond the cap too.
            count.open.subtract(1, ordering: .relaxed)
            context.close(promise: nil)
            return
        }
        counted = true
        arm(context, limits.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            count.open.subtract(1, ordering: .relaxed)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if counted {
            counted = false
            count.open.subtract(1, ordering: .relaxed)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .idle:
            phase = .head
            arm(context, limits.requestHeadTimeout)
        case .body:
            arm(context, limits.bodyReadTimeout)
        case .head, .responding:
            break
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? RequestEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch event {
        case .headReceived:
            phase = .body
            arm(context, limits.bodyReadTimeout)
        case .requestEnded:
            phase = .responding
            timer?.cancel()
            timer = nil
        case .responseEnded:
            if phase == .responding {
                phase = .idle
                arm(context, limits.idleTimeout)
            }
        }
        promise?.succeed()
    }

    private func arm(_ context: ChannelHandlerContext, _ after: Duration) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(
            in: .nanoseconds(
                Int64(after.components.seconds) * 1_000_000_000 + after.components.attoseconds / 1_000_000_000
            )
        ) {
            channel.close(promise: nil)
        }
    }
}

/// A server child channel that puts a ``ConnectionGuard`` in front of another (HTTP/1.1's), before its codec.
struct GuardedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let limits: ConnectionLimits
    let count: ConnectionCount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limits = self.limits
        let count = self.count
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits, count: count))
        }.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
