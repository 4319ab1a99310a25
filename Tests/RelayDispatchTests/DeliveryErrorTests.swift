import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
@testable import RelayDispatch
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
        // Cancelled by relay itself (shutdown past its grace): the job goes back to pending, its count unchanged.
        #expect(Self.classify(HTTPClientError.cancelled) == .cancelled)
        #expect(Self.classify(CancellationError()) == .cancelled)
    }

    /// What the relay's own client fails with for `url`, classified.
    static func failure(_ url: String) async throws -> DeliveryError? {
        let client = Forwarder.makeClient(maxConcurrency: 1)
        let outcome = await client.post(try #require(URL(string: url)), headers: [:], body: [], timeout: .seconds(5), snippetLimit: 1024)
        await client.shutdown()
        return outcome.failure
    }

    /// The real client against a closed port on 127.0.0.1: exactly `connection refused`, not NIO's errno text.
    @Test func theRealClientOnARefusedPortSaysConnectionRefused() async throws {
        let port = try freePort()  // nothing listens there
        let failure = try #require(try await Self.failure("http://127.0.0.1:\(port)/hook"), "a refused port answered")
        #expect(failure == .connectionRefused)
        #expect(failure.description == "connection refused")
    }

    /// A name that cannot resolve (`.invalid` is reserved for that, RFC 6761).
    @Test func aNameThatDoesNotResolveIsADNSFailure() async throws {
        let failure = try #require(try await Self.failure("http://relay-test.invalid/hook"), "an invalid name answered")
        #expect(failure == .dnsFailure(host: "relay-test.invalid"))
        #expect(failure.description == "DNS lookup failed for relay-test.invalid")
    }

    /// TLS spoken to a plain HTTP server on 127.0.0.1: a TLS failure in BoringSSL's reason, without its source paths.
    @Test func tlsToAPlainHTTPServerIsATLSFailure() async throws {
        try await Receiver.with { receiver in
            let failure = try #require(try await Self.failure("https://127.0.0.1:\(receiver.port)/hook"), "TLS to plain HTTP answered")
            #expect(failure == .tlsFailure("handshakeFailed: wrong version number"))
            #expect(failure.description == "TLS failure: handshakeFailed: wrong version number")
        }
    }

    @Test func tlsReasonsAreShortenedToBoringSSLsReason() {
        let text = "handshakeFailed(NIOSSL.BoringSSLError.sslError([Error: 268435703 error:100000f7:SSL routines:"
            + "OPENSSL_internal:WRONG_VERSION_NUMBER at /src/ssl/tls_record.cc:127]))"
        #expect(DeliveryError.tlsReason(text) == "handshakeFailed: wrong version number")
        #expect(DeliveryError.tlsReason("uncleanShutdown") == "uncleanShutdown")
    }
}
