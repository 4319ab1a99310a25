import Foundation
import NIOHTTP1
@testable import RelayDispatch
import Testing

extension DeliveryEngine {
/// relay's own outbound client (`RelayHTTPClient`) against raw TCP backends on 127.0.0.1: connections kept alive and
/// reused per origin, closed when the peer says so, a response cut short never counted whole.
@Suite struct RelayHTTPClientTests {
    static func post(_ client: RelayHTTPClient, _ url: String, timeout: Duration = .seconds(5)) async -> RelayHTTPClient.Outcome {
        await client.post(URL(string: url)!, headers: ["Content-Type": "application/json"], body: Array(#"{"n":1}"#.utf8),
                          timeout: timeout, snippetLimit: Forwarder.responseSnippetLimit)
    }

    /// Answers every request on a connection with 200 (and `Connection: close` then closes, if `close`).
    static func answering(close: Bool) -> @Sendable (RawPeer) -> Void {
        { peer in
            while peer.readNextRequest() {
                let closing = close ? "Connection: close\r\n" : ""
                guard peer.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\(closing)\r\nok"), !close else { return }
            }
        }
    }

    @Test func sequentialRequestsShareOneKeptAliveConnection() async throws {
        let backend = try RawBackend(Self.answering(close: false))
        let client = Forwarder.makeClient(maxConcurrency: 8)
        for _ in 0..<10 {
            let outcome = await Self.post(client, backend.url)
            #expect(outcome.failure == nil && outcome.response?.status == 200, "\(outcome)")
            #expect(outcome.response?.snippet == Array("ok".utf8))
        }
        #expect(backend.connections == 1, "10 requests over \(backend.connections) connections")
        #expect(client.connectionsOpened == 1)
        await client.shutdown()
        #expect(await backend.stop())
    }

    /// Through relay itself: events delivered one after another to a keep-alive backend share its connections.
    @Test func relayDeliversOverKeptAliveConnections() async throws {
        let backend = try RawBackend(Self.answering(close: false))
        let secret = "keep-alive-secret"
        let yaml = lineToCRMYAML(secret: secret, receiver: backend.url, retry: "[100ms]",
                                 destinationExtra: "format: canonical\n    concurrency: 1\n    breaker: off")
        try await Engine.with(yaml: yaml) { engine in
            for index in 1...10 {
                let reply = try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: secret)
                #expect(reply.status == 200)
                #expect(await eventually(timeout: .seconds(5)) { try await engine.stats("crm").delivered == index }, "event \(index) not delivered")
            }
        }
        #expect(backend.connections == 1, "10 deliveries over \(backend.connections) connections")
        #expect(await backend.stop())
    }

    @Test func concurrentRequestsReuseTheirConnections() async throws {
        let backend = try RawBackend(Self.answering(close: false))
        let client = Forwarder.makeClient(maxConcurrency: 8)
        for _ in 0..<5 {
            let statuses = await withTaskGroup(of: Int?.self) { group in
                for _ in 0..<4 { group.addTask { await Self.post(client, backend.url).response?.status } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == [200, 200, 200, 200])
        }
        // 20 requests, 4 at a time: at most 4 connections (each back in the pool before the next round).
        #expect(backend.connections <= 4, "20 requests over \(backend.connections) connections")
        await client.shutdown()
        #expect(await backend.stop())
    }

    @Test func aBackendThatClosesAfterEachResponseGetsANewConnectionEachTime() async throws {
        let backend = try RawBackend(Self.answering(close: true))
        let client = Forwarder.makeClient(maxConcurrency: 8)
        for _ in 0..<5 {
            let outcome = await Self.post(client, backend.url)
            #expect(outcome.failure == nil && outcome.response?.status == 200, "\(outcome)")
        }
        #expect(backend.connections == 5)
        await client.shutdown()
        #expect(await backend.stop())
    }

    /// A 200 whose body stops short of its Content-Length: the head arrived, the response is not whole.
    /// An interim response (100 Continue, 103 Early Hints) before the final one is skipped (NIO's decoder drops it), not
    /// taken for the answer.
    @Test func interimResponsesAreSkipped() async throws {
        let backend = try RawBackend { peer in
            while peer.readNextRequest() {
                guard peer.send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") else { return }
            }
        }
        let client = Forwarder.makeClient(maxConcurrency: 8)
        for _ in 0..<2 {
            let outcome = await Self.post(client, backend.url)
            #expect(outcome.failure == nil && outcome.response?.status == 200 && outcome.response?.snippet == Array("ok".utf8), "\(outcome)")
        }
        #expect(backend.connections == 1, "the connection stays usable after interim responses")
        await client.shutdown()
        #expect(await backend.stop())
    }

    @Test func aResponseCutShortIsAFailureWithItsHead() async throws {
        let backend = try RawBackend { peer in
            guard peer.readRequest() else { return }
            peer.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
        }
        let client = Forwarder.makeClient(maxConcurrency: 8)
        let outcome = await Self.post(client, backend.url)
        #expect(outcome.response?.status == 200)
        #expect(outcome.failure == .connectionClosed)
        #expect(!outcome.stoppedReading)
        await client.shutdown()
        #expect(await backend.stop())
    }

    /// An error body larger than the snippet: 1 KiB kept, the connection closed rather than drained (the next request
    /// opens a new one).
    @Test func aLongBodyIsCutAtTheSnippetAndItsConnectionClosed() async throws {
        let backend = try RawBackend { peer in
            while peer.readNextRequest() {
                guard peer.send("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100000\r\n\r\n"),
                      peer.send([UInt8](repeating: UInt8(ascii: "x"), count: 100_000)) else { return }
            }
        }
        let client = Forwarder.makeClient(maxConcurrency: 8)
        for _ in 0..<2 {
            let outcome = await Self.post(client, backend.url)
            #expect(outcome.response?.status == 500)
            #expect(outcome.response?.snippet.count == Forwarder.responseSnippetLimit)
            #expect(outcome.stoppedReading)
        }
        #expect(backend.connections == 2)
        await client.shutdown()
        #expect(await backend.stop())
    }

    /// The deadline covers the whole exchange: a body that never ends stops the attempt at the timeout.
    @Test func aStalledBodyEndsAtTheDeadline() async throws {
        let backend = try RawBackend { peer in
            guard peer.readRequest(), peer.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234") else { return }
            peer.holdUntilClientCloses()
        }
        let client = Forwarder.makeClient(maxConcurrency: 8)
        let started = ContinuousClock.now
        let outcome = await Self.post(client, backend.url, timeout: .milliseconds(300))
        let took = milliseconds(from: started, to: .now)
        #expect(outcome.response?.status == 200)
        #expect(outcome.failure == .timeout(.milliseconds(300)))
        #expect(took >= 290 && took < 2_000, "took \(took) ms")
        await client.shutdown()
        #expect(await backend.stop())
    }

    /// https to a local TLS server whose certificate the client trusts: SNI `localhost`, the certificate verified,
    /// the connection kept alive across requests.
    @Test func httpsToATrustedServerKeepsItsConnection() async throws {
        let backend = try await TLSBackend.start()
        var configuration = RelayHTTPClient.Configuration()
        configuration.additionalTrustRoots = [try TLSBackend.certificate]
        let client = RelayHTTPClient(configuration: configuration)
        for _ in 0..<5 {
            let outcome = await Self.post(client, backend.url)
            #expect(outcome.failure == nil && outcome.response?.status == 200, "\(outcome)")
            #expect(outcome.response?.snippet == Array("ok".utf8))
        }
        #expect(backend.connections == 1, "5 requests over \(backend.connections) connections")
        await client.shutdown()
        try await backend.stop()
    }

    /// The same server, its certificate vouched for by no system root: the handshake fails, nothing is sent.
    @Test func httpsToAnUntrustedCertificateIsATLSFailure() async throws {
        let backend = try await TLSBackend.start()
        let client = Forwarder.makeClient(maxConcurrency: 8)
        // Each on a new connection, whose handshake fails as soon as it is made: before or after the request is handed
        // to it (a loaded machine once reported "connection closed" here, the reason lost), it reads as the TLS failure.
        for _ in 0..<10 {
            let outcome = await Self.post(client, backend.url)
            #expect(outcome.response == nil)
            guard case .tlsFailure(let reason) = outcome.failure else {
                Issue.record("not a TLS failure: \(String(describing: outcome.failure))")
                break
            }
            #expect(reason.contains("certificate verify failed"), "\(reason)")
        }
        await client.shutdown()
        try await backend.stop()
    }
}
}
