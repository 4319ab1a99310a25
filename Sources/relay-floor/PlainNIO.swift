import NIOCore
import NIOHTTP1
import NIOPosix

/// The bench's row N: a plain SwiftNIO HTTP/1.1 server answering every request with relay's 200 body, on two event
/// loops, with nothing above NIO's own codec. What Swift and NIO cost that day, below any framework.
enum PlainNIO {
    static func serve(port: Int, body: ByteBuffer) throws -> Never {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answer(body: body))
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        try channel.closeFuture.wait()
        fatalError("the listener closed")
    }

    /// Answers each request, once its body has arrived, with 200 and `body`; keeps the connection open.
    final class Answer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let body: ByteBuffer
        var keepAlive = true

        init(body: ByteBuffer) { self.body = body }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): keepAlive = head.isKeepAlive
            case .body: break
            case .end:
                var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.readableBytes))])
                if !keepAlive { headers.add(name: "connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                let keepAlive = self.keepAlive
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in if !keepAlive { context.close(promise: nil) } }
            }
        }
    }
}
