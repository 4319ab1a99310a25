import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One per ingest connection, right after HTTP parsing: every body byte is counted in the ``BodyBudget`` as it leaves
/// the parser, before it waits in any buffer on its way to the handler, and is given back when that request's
/// response has been written (or the connection closes).
///
/// Counting in the handler alone left what waited below it uncounted: the async channel buffers up to ten parts per
/// connection ahead of its reader, so 1,500 connections each sending 900 KiB of a 1 MiB body took RSS from 44 to
/// 600 MiB with a 64 MiB `max_buffered`. Now a body part that does not fit is not passed on at all: the request's body
/// ends with ``BodyBudget/Exhausted`` (its handler answers 503), the rest of its body is dropped as it arrives rather
/// than read into memory, and the connection is closed once the answer is out.
final class BodyAdmission: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let budget: BodyBudget
    private let limit: @Sendable () -> Int
    /// Bytes counted for requests read whole and not yet answered, oldest first (more than one only when pipelined).
    private var waiting: [Int] = []
    /// Bytes counted for the request being read; nil between requests.
    private var reading: Int?
    /// The request being read was answered already (a 404, a 401 before its body): the rest of its body is drained by
    /// the server and dropped part by part, so it is not counted.
    private var answeredEarly = false
    /// The body being read did not fit: its parts are dropped.
    private var refusing = false
    /// `max_buffered` as the request being read found it (read once per request, not per part).
    private var requestLimit = 0
    /// Close once the response under way is written: its request's body was refused part-way.
    private var closeAfterResponse = false

    init(budget: BodyBudget, limit: @escaping @Sendable () -> Int) {
        self.budget = budget
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            reading = 0
            answeredEarly = false
            refusing = false
            // Refused before a byte of it is read (the provider retries) when even the announced body cannot fit.
            let announced = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
            requestLimit = limit()
            if budget.current > requestLimit - announced {
                context.fireChannelRead(data)
                refuse(context)
                return
            }
        case .body(let part):
            if refusing { return }
            if !answeredEarly {
                let size = part.readableBytes
                guard budget.take(size, limit: requestLimit) else {
                    refuse(context)
                    return
                }
                reading = (reading ?? 0) + size
            }
        case .end:
            if let counted = reading, !answeredEarly { waiting.append(counted) }
            reading = nil
            if refusing { return }
        }
        context.fireChannelRead(data)
    }

    /// Ends the body being read with ``BodyBudget/Exhausted``; the rest of it is dropped, and the connection closed
    /// after the answer.
    private func refuse(_ context: ChannelHandlerContext) {
        refusing = true
        closeAfterResponse = true
        context.fireErrorCaught(BodyBudget.Exhausted())
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where closeAfterResponse && head.status.code >= 200:
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            // Responses go out in request order: the oldest request read whole, else the one being read (answered
            // before its body arrived).
            if !waiting.isEmpty {
                budget.give(waiting.removeFirst())
            } else if let counted = reading {
                budget.give(counted)
                reading = 0
                answeredEarly = true
            }
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(data).whenComplete { result in
                promise?.completeWith(result)
                bound.value.close(promise: nil)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        giveBackAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        giveBackAll()
    }

    private func giveBackAll() {
        budget.give(waiting.reduce(0, +) + (reading ?? 0))
        waiting.removeAll()
        reading = nil
    }
}
