import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RelayCore

/// Sends one attempt over the shared HTTP client and reports what happened, never throwing.
public struct Forwarder: Sendable {
    let client: HTTPClient
    /// How much of a failed response body is kept for the dead-letter record.
    public static let responseSnippetLimit = 1024

    public init(client: HTTPClient) { self.client = client }

    /// The shared client: pooled connections, redirects never followed, bounded connect time.
    public static func makeClient(maxConcurrency: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(3)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, maxConcurrency)))
        configuration.httpVersion = .http1Only
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
        do {
            let response = try await client.execute(request, timeout: TimeAmount.nanoseconds(destination.timeout.nanoseconds))
            let status = Int(response.status.code)
            var result = Result(status: status)
            if !(200..<300).contains(status) {
                result.error = "HTTP \(status)"
                result.responseSnippet = try? await Self.snippet(of: response)
                if status == 429 || status == 503, let value = response.headers.first(name: "retry-after") {
                    result.retryAfter = RetryPolicy.parseRetryAfter(value, nowMilliseconds: nowMilliseconds)
                }
            }
            return result
        } catch {
            return Result(error: Self.describe(error))
        }
    }

    /// The start of a response body, read no further than the limit (a huge or endless body cannot hold us).
    static func snippet(of response: HTTPClientResponse) async throws -> String {
        var bytes: [UInt8] = []
        for try await var chunk in response.body {
            let take = min(chunk.readableBytes, responseSnippetLimit - bytes.count)
            bytes.append(contentsOf: chunk.readBytes(length: take) ?? [])
            if bytes.count >= responseSnippetLimit { break }
        }
        return String(decoding: bytes, as: UTF8.self)
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
