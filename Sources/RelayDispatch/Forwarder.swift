import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RelayCore
import Synchronization

/// Sends one attempt over the shared HTTP client and reports what happened, never throwing.
public struct Forwarder: Sendable {
    let client: HTTPClient
    /// How much of a failed response body is kept for the dead-letter record.
    public static let responseSnippetLimit = 1024

    /// How long the shared client waits for a connection.
    public static let connectTimeout: Duration = .seconds(3)

    public init(client: HTTPClient) { self.client = client }

    /// The largest request head relay sends (SPEC section 13).
    ///
    /// AsyncHTTPClient 1.37 writes a request's head with `writeAndFlush` and then moves its state machine to "head
    /// sent" (`HTTP1ClientChannelHandler.sendRequestHead`). A head larger than the channel's write-buffer high
    /// watermark (64 KiB) makes the channel unwritable while it is written; when the socket drains it below the low
    /// watermark within that same flush, `channelWritabilityChanged` runs first and starts the body producer, and
    /// `headSent()` then finds `.running(.streaming(producer: .producing))` and stops the process with a
    /// `preconditionFailure`. A head of at most 16 KiB can never make the channel unwritable (the body is written after
    /// it), so relay's requests cannot reach it.
    public static let maxHeadBytes = 16 << 10

    /// The bytes of the head AsyncHTTPClient writes for a POST to `url` with `headers` and a body of `bodyCount` bytes.
    static func headSize(_ headers: HTTPHeaders, url: URL, bodyCount: Int) -> Int {
        let target = url.path.utf8.count + (url.query.map { $0.utf8.count + 1 } ?? 0)
        let host = (url.host?.utf8.count ?? 0) + 8  // "Host: " ... ":port"
        let fields = headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        return "POST  HTTP/1.1\r\n".utf8.count + target + host + 4 + fields + "Content-Length: \(bodyCount)\r\n\r\n".utf8.count
    }

    /// The shared client: pooled connections, redirects never followed, bounded connect time.
    public static func makeClient(maxConcurrency: Int) -> HTTPClient {
        // The pool's per-host limit is shared by every destination on that host (one backend, several paths), so
        // if it were near one destination's `concurrency`, a stuck destination would hold every connection and
        // queue the others' requests behind it. Each worker already bounds its own attempts: the pool must not.
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(connectTimeout.nanoseconds)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(16_384, maxConcurrency)))
        configuration.httpVersion = .http1Only
        // relay records its own attempt metrics and logs; per-request spans would only cost time.
        configuration.tracing.tracer = nil
        // A refused connection is a failed attempt now, on the configured schedule; the client's own hidden
        // reconnect loop would hold the slot for the whole connect timeout and record "timeout" instead.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public struct Result: Sendable {
        public var status: Int?
        public var error: DeliveryError?
        public var responseSnippet: String?
        public var retryAfter: Duration?
        public var succeeded: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    /// Sends `outbound` to `destination` at `url` (its `url`, parsed once by the caller).
    public func send(_ outbound: OutboundRequest, to destination: DestinationConfig, url: URL, nowMilliseconds: Int64) async -> Result {
        var headers = HTTPHeaders()
        headers.reserveCapacity(outbound.headers.count + 1)
        for header in outbound.headers { headers.add(name: header.name, value: header.value) }
        headers.replaceOrAdd(name: "User-Agent", value: "relay")
        // A head the peer does not read at once can reach a precondition in AsyncHTTPClient (see `maxHeadBytes`).
        let headSize = Self.headSize(headers, url: url, bodyCount: outbound.body.count)
        guard headSize <= Self.maxHeadBytes else {
            return Result(error: .requestNotBuilt("its head would be \(headSize) bytes; relay sends at most \(Self.maxHeadBytes)"))
        }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .bytes(outbound.body))
        } catch {
            return Result(error: .requestNotBuilt("\(error)"))
        }
        // The delegate API's deadline covers the whole exchange, response body included, so a stalled or endless
        // body cannot hold the attempt (and its slot) past the destination's timeout.
        let deadline = NIODeadline.now() + TimeAmount.nanoseconds(destination.timeout.nanoseconds)
        let reader = ResponseReader()
        let task = client.execute(request: request, delegate: reader, deadline: deadline)
        let head: ResponseReader.Head?
        do {
            head = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch {
            // A body cut off (by the deadline, or by the reader once it has the snippet) still leaves the head.
            head = reader.headIfReceived
            if head == nil { return Result(error: Self.describe(error, timeout: destination.timeout)) }
            // A 2xx counts only once its response is whole (or relay itself stopped reading it): a backend that closes
            // mid-body, or stalls past the timeout, may not have taken the event, and a resend is safe (receivers
            // deduplicate by `webhook-id`). Before, a 200 cut off after 10 of 1,000 bytes was recorded as delivered.
            if let received = head, (200..<300).contains(received.status), !reader.stoppedReading {
                return Result(error: Self.describe(error, timeout: destination.timeout))
            }
        }
        guard let head else { return Result(error: .connectionClosed) }
        var result = Result(status: head.status)
        if !(200..<300).contains(head.status) {
            result.error = .httpStatus(head.status)
            result.responseSnippet = PrintableText.escaping(head.snippet)
            if head.status == 429 || head.status == 503, let value = head.retryAfter {
                result.retryAfter = RetryPolicy.parseRetryAfter(value, nowMilliseconds: nowMilliseconds)
            }
        }
        return result
    }

    /// Keeps the status, `Retry-After` and the first `responseSnippetLimit` bytes of the body, then stops reading.
    /// Its methods run on the connection's event loop, one at a time; the lock only guards the read-back after a failure.
    final class ResponseReader: HTTPClientResponseDelegate, Sendable {
        struct Head: Sendable {
            var status: Int
            var retryAfter: String?
            var snippet: [UInt8] = []
        }

        private let head = Mutex<Head?>(nil)
        private let stopped = Atomic<Bool>(false)

        var headIfReceived: Head? { head.withLock { $0 } }
        /// Whether the reader itself ended the exchange, having read all it keeps.
        var stoppedReading: Bool { stopped.load(ordering: .acquiring) }

        func didReceiveHead(task: HTTPClient.Task<Head?>, _ response: HTTPResponseHead) -> EventLoopFuture<Void> {
            head.withLock { $0 = Head(status: Int(response.status.code), retryAfter: response.headers.first(name: "retry-after")) }
            return task.eventLoop.makeSucceededVoidFuture()
        }

        func didReceiveBodyPart(task: HTTPClient.Task<Head?>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
            let full = head.withLock { head -> Bool in
                guard head != nil else { return false }
                let take = min(buffer.readableBytes, Forwarder.responseSnippetLimit - head!.snippet.count)
                if take > 0 { head!.snippet.append(contentsOf: buffer.readableBytesView.prefix(take)) }
                return head!.snippet.count >= Forwarder.responseSnippetLimit
            }
            // Enough for the record: the rest is not read (the connection is closed rather than drained).
            if full {
                stopped.store(true, ordering: .releasing)
                task.cancel()
            }
            return task.eventLoop.makeSucceededVoidFuture()
        }

        func didFinishRequest(task: HTTPClient.Task<Head?>) throws -> Head? {
            head.withLock { $0 }
        }
    }

    static func describe(_ error: any Error, timeout: Duration) -> DeliveryError {
        DeliveryError(clientError: error, timeout: timeout, connectTimeout: connectTimeout)
    }
}
