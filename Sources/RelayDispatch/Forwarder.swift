import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RelayCore
import Synchronization

/// Sends one attempt over the shared HTTP client and reports what happened, never throwing.
public struct Forwarder: Sendable {
    let client: HTTPClient
    /// How much of a failed response body is kept for the dead-letter record.
    public static let responseSnippetLimit = 1024

    public init(client: HTTPClient) { self.client = client }

    /// The shared client: pooled connections, redirects never followed, bounded connect time.
    public static func makeClient(maxConcurrency: Int) -> HTTPClient {
        // The pool's per-host limit is shared by every destination on that host (one backend, several paths), so
        // if it were near one destination's `concurrency`, a stuck destination would hold every connection and
        // queue the others' requests behind it. Each worker already bounds its own attempts: the pool must not.
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(3)),
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
        public var error: String?
        public var responseSnippet: String?
        public var retryAfter: Duration?
        public var succeeded: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    public func send(_ outbound: OutboundRequest, to destination: DestinationConfig, nowMilliseconds: Int64) async -> Result {
        var request = HTTPClientRequest(url: destination.url)
        request.method = .POST
        for header in outbound.headers { request.headers.add(name: header.name, value: header.value) }
        request.headers.replaceOrAdd(name: "User-Agent", value: "relay")
        request.body = .bytes(ByteBuffer(bytes: outbound.body))
        // One deadline for the whole attempt: the client's own ends with the response head, not its body.
        let deadline = NIODeadline.now() + TimeAmount.nanoseconds(destination.timeout.nanoseconds)
        do {
            let response = try await client.execute(request, deadline: deadline)
            let status = Int(response.status.code)
            var result = Result(status: status)
            // The body is read either way: a response left unread closes its connection instead of returning it to the pool.
            let empty = response.headers.first(name: "content-length") == "0"
            let snippet = empty ? "" : await Self.snippet(of: response, until: deadline)
            if !(200..<300).contains(status) {
                result.error = "HTTP \(status)"
                result.responseSnippet = snippet
                if status == 429 || status == 503, let value = response.headers.first(name: "retry-after") {
                    result.retryAfter = RetryPolicy.parseRetryAfter(value, nowMilliseconds: nowMilliseconds)
                }
            }
            return result
        } catch {
            return Result(error: Self.describe(error))
        }
    }

    /// The start of a response body, read no further than the limit nor past `deadline`: a huge, endless or stalled
    /// body cannot hold the attempt (and its slot). Whatever arrived in time is kept.
    static func snippet(of response: HTTPClientResponse, until deadline: NIODeadline) async -> String {
        let bytes = SnippetBuffer()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await var chunk in response.body {
                        let full = bytes.value.withLock { bytes in
                            let take = min(chunk.readableBytes, responseSnippetLimit - bytes.count)
                            bytes.append(contentsOf: chunk.readBytes(length: take) ?? [])
                            return bytes.count >= responseSnippetLimit
                        }
                        if full { break }
                    }
                } catch {
                    // A body cut off (or cancelled at the deadline) still leaves what was read.
                }
            }
            group.addTask {
                let remaining = (deadline - NIODeadline.now()).nanoseconds
                if remaining > 0 { try? await Task.sleep(for: .nanoseconds(remaining)) }
            }
            await group.next()
            group.cancelAll()
        }
        return String(decoding: bytes.value.withLock { $0 }, as: UTF8.self)
    }

    /// The bytes read so far, shared between the reader and the caller that may stop waiting for it.
    private final class SnippetBuffer: Sendable {
        let value = Mutex<[UInt8]>([])
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timeout"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}
