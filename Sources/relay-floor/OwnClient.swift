import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The bench's row A'': a minimal client on NIO's own HTTP/1.1 codec, to weigh against AsyncHTTPClient in A'.
/// Keep-alive connections per origin (idle ones kept in a list), one request per connection at a time, the deadline
/// a timer on the connection's loop. No TLS, no redirects, no retries: only what a forward to one origin needs.
final class OwnClient: Sendable {
    struct Origin: Hashable, Sendable { var host: String; var port: Int }
    struct Answer: Sendable { var status: HTTPResponseStatus }
    struct Failure: Error { var reason: String }

    let group: any EventLoopGroup
    private let idle = Mutex<[Origin: [Connection]]>([:])

    init(group: any EventLoopGroup) { self.group = group }

    func post(_ origin: Origin, path: String, headers: HTTPHeaders, body: ByteBuffer, deadline: NIODeadline) async throws -> Answer {
        let connection = try await checkOut(origin)
        var request = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        request.headers.add(name: "host", value: origin.host)
        request.headers.add(name: "content-length", value: String(body.readableBytes))
        let head = request
        let promise = connection.channel.eventLoop.makePromise(of: Exchange.Outcome.self)
        connection.channel.eventLoop.execute {
            connection.handler.start(head: head, body: body, deadline: deadline, promise: promise)
        }
        let outcome = try await promise.futureResult.get()
        if outcome.reusable { idle.withLock { $0[origin, default: []].append(connection) } }
        return Answer(status: outcome.status)
    }

    private func checkOut(_ origin: Origin) async throws -> Connection {
        while let connection = idle.withLock({ $0[origin]?.popLast() }) {
            if connection.channel.isActive { return connection }
        }
        let handler = Exchange()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.currentEventLoop ?? group.next())
            .connectTimeout(.seconds(3))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: origin.host, port: origin.port).get()
        return Connection(channel: channel, handler: handler)
    }

    struct Connection: @unchecked Sendable {  // the handler is touched on its channel's loop only
        let channel: any Channel
        let handler: Exchange
    }

    /// One exchange at a time on its connection: writes the request, completes with the status once the response ends.
    final class Exchange: ChannelInboundHandler, @unchecked Sendable {  // touched on its channel's loop only
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart
        struct Outcome: Sendable { var status: HTTPResponseStatus; var reusable: Bool }

        private var context: ChannelHandlerContext?
        private var promise: EventLoopPromise<Outcome>?
        private var timer: Scheduled<Void>?
        private var status: HTTPResponseStatus = .ok
        private var keepAlive = true

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

        func start(head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<Outcome>) {
            guard let context, context.channel.isActive else { return promise.fail(Failure(reason: "connection closed")) }
            self.promise = promise
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in fail(Failure(reason: "timeout")) }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = head.status
                keepAlive = head.isKeepAlive
            case .body:
                break
            case .end:
                guard let promise else { return }
                self.promise = nil
                timer?.cancel(); timer = nil
                if !keepAlive { context.close(promise: nil) }
                promise.succeed(Outcome(status: status, reusable: keepAlive))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            fail(Failure(reason: "connection closed"))
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(error)
        }

        private func fail(_ error: any Error) {
            timer?.cancel(); timer = nil
            guard let promise else { return }
            self.promise = nil
            context?.close(promise: nil)
            promise.fail(error)
        }
    }
}
