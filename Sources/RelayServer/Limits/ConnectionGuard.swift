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
    /// The largest body a request may announce and still be told to continue (nil: any).
    private let maxBody: @Sendable () -> Int?
    private var deadline: Scheduled<Void>?
    /// A head was read and its end not yet.
    private var inRequest = false

    init(timeout: Duration, maxBody: @escaping @Sendable () -> Int? = { nil }) {
        self.timeout = .nanoseconds(timeout.nanoseconds)
        self.maxBody = maxBody
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            inRequest = true
            arm(context)
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
            inRequest = false
            disarm()
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

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    static func expectsContinue(_ head: HTTPRequest) -> Bool {
        head.headerFields[.expect].map { $0.lowercased() == "100-continue" } ?? false
    }
}
