import HTTPTypes
import RelayCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// One per connection, after HTTP parsing: a request must arrive whole (head to last body byte) within `timeout`,
/// or the connection is closed; a client that sends `Expect: 100-continue` is told to go on; and a request that is
/// not HTTP gets the JSON 400 every other refusal gets, with a plain message.
///
/// The idle timeout alone measures only the gaps between bytes, so a client sending one byte every few seconds was
/// never cut off and held its buffer and its connection for as long as it liked.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    /// How often an open connection checks the request it is reading: a fraction of `timeout`, at most a second.
    private let checkInterval: TimeAmount
    /// The largest body a request may announce and still be told to continue (nil: any).
    private let maxBody: @Sendable () -> Int?
    /// When the head of the request being read arrived; nil between requests.
    private var headAt: NIODeadline?
    /// The connection's one repeating check. A timer per request cost the ingest path a heap insert and removal,
    /// and often a timer re-arm, for every request; a reading of the clock is all a request pays now.
    private var check: RepeatedTask?
    /// A head was read and its end not yet.
    private var inRequest: Bool { headAt != nil }

    init(timeout: Duration, maxBody: @escaping @Sendable () -> Int? = { nil }) {
        self.timeout = .nanoseconds(timeout.nanoseconds)
        self.checkInterval = .nanoseconds(min(1_000_000_000, max(50_000_000, timeout.nanoseconds / 4)))
        self.maxBody = maxBody
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            headAt = .now()
            if Self.expectsContinue(head) {
                let announced = head.headerFields[.contentLength].flatMap { Int($0) }
                // Over the limit: no 100, so the client never sends the body; the handler answers 413 at once.
                if let limit = maxBody(), let announced, announced > limit {
                } else {
                    context.writeAndFlush(NIOAny(HTTPResponsePart.head(HTTPResponse(status: .continue))), promise: nil)
                }
            }
        case .body:
            break
        case .end:
            headAt = nil
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Inside a body the handler reading it answers (it knows the request); between requests nobody would but
        // Hummingbird, with an empty 400. The parser's own words name its internals, so they are not passed on.
        guard error is HTTPParserError, !inRequest else {
            context.fireErrorCaught(error)
            return
        }
        let body = ByteBuffer(string: #"{"error":"invalid_request","message":"the request is not valid HTTP/1.1"}"#)
        let head = HTTPResponse(status: .badRequest, headerFields: [
            .contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close",
        ])
        context.write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(body)), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startChecking(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startChecking(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopChecking()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopChecking()
    }

    /// Closes the connection once the request being read has taken longer than `timeout`, checked every
    /// `checkInterval` (so a trickling request ends between `timeout` and `timeout + checkInterval`).
    private func startChecking(_ context: ChannelHandlerContext) {
        guard check == nil else { return }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: checkInterval, delay: checkInterval) { _ in
            let (handler, context) = bound.value
            guard let headAt = handler.headAt, NIODeadline.now() - headAt > handler.timeout else { return }
            handler.stopChecking()
            context.close(promise: nil)
        }
    }

    private func stopChecking() {
        check?.cancel()
        check = nil
    }

    static func expectsContinue(_ head: HTTPRequest) -> Bool {
        head.headerFields[.expect].map { $0.lowercased() == "100-continue" } ?? false
    }
}
