import Foundation
import NIOCore
import NIOHTTP1
import RelayCore

/// Sends one attempt over the shared HTTP client (`RelayHTTPClient`) and reports what happened, never throwing.
public struct Forwarder: Sendable {
    let client: RelayHTTPClient
    /// How much of a failed response body is kept for the dead-letter record.
    public static let responseSnippetLimit = 1024

    /// How long the shared client waits for a connection.
    public static let connectTimeout: Duration = .seconds(3)

    public init(client: RelayHTTPClient) { self.client = client }

    /// The largest request head relay sends (SPEC section 13). It was set for AsyncHTTPClient 1.37, which stopped the
    /// process on a head larger than the channel's write-buffer high watermark (64 KiB) drained within its own flush;
    /// relay's own client has no such limit, and the bound stays: no receiver needs a larger head.
    public static let maxHeadBytes = 16 << 10

    /// The bytes of the head written for a POST to `url` with `headers` and a body of `bodyCount` bytes.
    static func headSize(_ headers: HTTPHeaders, url: URL, bodyCount: Int) -> Int {
        let target = url.path.utf8.count + (url.query.map { $0.utf8.count + 1 } ?? 0)
        let host = (url.host?.utf8.count ?? 0) + 8  // "Host: " ... ":port"
        let fields = headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        return "POST  HTTP/1.1\r\n".utf8.count + target + host + 4 + fields + "Content-Length: \(bodyCount)\r\n\r\n".utf8.count
    }

    /// The shared client: keep-alive connections per origin, redirects never followed, bounded connect time, a
    /// refused connection a failed attempt at once (no hidden reconnect loop holding the slot).
    public static func makeClient(maxConcurrency: Int) -> RelayHTTPClient {
        var configuration = RelayHTTPClient.Configuration()
        configuration.connectTimeout = connectTimeout
        configuration.idleTimeout = .seconds(60)
        // Idle connections kept per origin: enough for the busiest destination's attempts in flight, shared by every
        // destination on that origin; more are opened when needed and closed after use.
        configuration.maxIdlePerOrigin = max(256, maxConcurrency)
        return RelayHTTPClient(configuration: configuration)
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
        // SPEC section 13: relay's request heads are bounded (see `maxHeadBytes`).
        let headSize = Self.headSize(headers, url: url, bodyCount: outbound.body.count)
        guard headSize <= Self.maxHeadBytes else {
            return Result(error: .requestNotBuilt("its head would be \(headSize) bytes; relay sends at most \(Self.maxHeadBytes)"))
        }
        // The deadline covers the whole exchange, response body included, so a stalled or endless body cannot hold
        // the attempt (and its slot) past the destination's timeout.
        let outcome = await client.post(url, headers: headers, body: outbound.body, timeout: destination.timeout,
                                        snippetLimit: Self.responseSnippetLimit)
        // A body cut off (by the deadline, or by relay once it has the snippet) still leaves the head.
        guard let head = outcome.response else { return Result(error: outcome.failure ?? .connectionClosed) }
        // A 2xx counts only once its response is whole (or relay itself stopped reading it): a backend that closes
        // mid-body, or stalls past the timeout, may not have taken the event, and a resend is safe (receivers
        // deduplicate by `webhook-id`). Before, a 200 cut off after 10 of 1,000 bytes was recorded as delivered.
        if let failure = outcome.failure, (200..<300).contains(head.status), !outcome.stoppedReading {
            return Result(error: failure)
        }
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
}
