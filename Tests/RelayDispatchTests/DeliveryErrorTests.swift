import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import RelayDispatch
import Testing

/// What the client and NIO throw is classified into a few failures with short, readable text.
@Suite struct DeliveryErrorTests {
    static func classify(_ error: any Error) -> DeliveryError {
        DeliveryError(clientError: error, timeout: .seconds(10), connectTimeout: .seconds(3))
    }

    @Test func eachFailureReadsAsShortText() {
        #expect(DeliveryError.connectionRefused.description == "connection refused")
        #expect(DeliveryError.connectionReset.description == "connection reset")
        #expect(DeliveryError.timeout(.seconds(10)).description == "timed out after 10s")
        #expect(DeliveryError.connectTimeout(.milliseconds(1500)).description == "connect timed out after 1.5s")
        #expect(DeliveryError.httpStatus(503).description == "HTTP 503")
        #expect(DeliveryError.dnsFailure(host: "crm.example").description == "DNS lookup failed for crm.example")
        #expect(DeliveryError.responseTooLarge.description == "response too large")
        #expect(DeliveryError("no key").description == "request not built: no key")
    }

    /// NIO's own errors, as it builds them for a failed connect (its text reads `connection reset (error set): ...`).
    @Test func nioErrorsAreClassifiedByErrnoAndCase() {
        #expect(Self.classify(IOError(errnoCode: ECONNREFUSED, reason: "connection reset (error set)")) == .connectionRefused)
        #expect(Self.classify(IOError(errnoCode: ECONNRESET, reason: "read(descriptor:pointer:size:)")) == .connectionReset)
        #expect(Self.classify(ChannelError.connectTimeout(.seconds(3))) == .connectTimeout(.seconds(3)))
        #expect(Self.classify(ChannelError.eof) == .connectionClosed)
    }

    @Test func clientErrorsAreClassified() {
        #expect(Self.classify(HTTPClientError.deadlineExceeded) == .timeout(.seconds(10)))
        #expect(Self.classify(HTTPClientError.readTimeout) == .timeout(.seconds(10)))
        #expect(Self.classify(HTTPClientError.connectTimeout) == .connectTimeout(.seconds(3)))
        #expect(Self.classify(HTTPClientError.remoteConnectionClosed) == .connectionClosed)
        #expect(Self.classify(HTTPClientError.invalidURL) == .requestNotBuilt("\(HTTPClientError.invalidURL)"))
        #expect(Self.classify(HTTPClientError.cancelled) == .other("\(HTTPClientError.cancelled)"))
    }

    /// The real client against a closed port on 127.0.0.1: exactly `connection refused`, not NIO's errno text.
    @Test func theRealClientOnARefusedPortSaysConnectionRefused() async throws {
        let port = try freePort()  // nothing listens there
        let client = Forwarder.makeClient(maxConcurrency: 1)
        let request = try HTTPClient.Request(url: "http://127.0.0.1:\(port)/hook", method: .POST)
        do {
            _ = try await client.execute(request: request, deadline: .now() + .seconds(5)).get()
            Issue.record("a refused port answered")
        } catch {
            #expect(Self.classify(error) == .connectionRefused, "\(error)")
        }
        try await client.shutdown()
    }
}
