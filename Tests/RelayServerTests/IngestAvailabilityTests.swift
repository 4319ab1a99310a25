import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RelayCore
import Testing

/// Health probes on the ingest listener, and 503 when the store cannot commit.
@Suite("Ingest: availability")
struct IngestAvailabilityTests {
    @Test func healthAndReadinessWithAWritableStore() async throws {
        try await IngestServer.test { client, _ in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(try HTTP.json(health) == .object(["status": .string("ok")]))
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.headers[.contentType] == "application/json")
            #expect(try HTTP.json(ready)["status"] == .string("ready"))
        }
    }

    @Test func readOnlyStoreAnswers503AndStoresNothing() async throws {
        try await IngestServer.test(readOnly: true) { client, store in
            let body = LINEBody.body(ids: "01GDOWN1", "01GDOWN2")
            let response = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body))
            try HTTP.expectError(response, .serviceUnavailable, "unavailable")
            let eight = EightByEightBody.receipt(umid: "u-down")
            try HTTP.expectError(try await client.execute(
                uri: "/webhooks/eight-basic", method: .post, headers: HTTP.authorization(HTTP.basic), body: HTTP.buffer(eight)),
                .serviceUnavailable, "unavailable")
            let stats = try await store.stats()
            #expect(stats.events == 0)
            #expect(stats.dedupKeys == 0)

            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.contentType] == "application/json")
            #expect(try HTTP.json(ready)["status"] == .string("store_not_writable"))
            // The process itself is up.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            // Refusals that do not need the store are unchanged.
            try HTTP.expectError(try await client.execute(uri: "/webhooks/line", method: .post, body: HTTP.buffer(body)),
                                 .unauthorized, "invalid_signature")
        }
    }

    /// The answer stays generic; the log line says why the commit failed, in the store's words and kind.
    @Test func the503LogLineSaysWhyTheCommitFailed() async throws {
        let log = LogRecorder()
        try await IngestServer.test(readOnly: true, logger: log.logger()) { client, _ in
            let body = LINEBody.body(ids: "01GWHY")
            let response = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body))
            try HTTP.expectError(response, .serviceUnavailable, "unavailable")
            #expect(!String(buffer: response.body).contains("readonly"), "the 503 body names the store's cause")
        }
        let line = try #require(log.all.first { $0.message == "ingest unavailable" }, "no ingest unavailable line")
        #expect(line.level == .error)
        #expect(line.metadata["source.id"] == .string("line"))
        let cause = try #require(line.metadata["error.cause"].map { "\($0)" }, "the line has no error.cause")
        #expect(cause.hasPrefix("read_only: cannot commit: "), "error.cause: \(cause)")
        #expect(cause.contains("readonly database"), "error.cause: \(cause)")
    }

    @Test func eventsRefusedWith503AreNewOnceTheStoreIsBack() async throws {
        let directory = TestStore.newDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await IngestServer.test(store: try await TestStore.make(readOnly: true, in: directory)) { client, _ in
            let body = LINEBody.body(ids: "01GLATER")
            try HTTP.expectError(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body)),
                                 .serviceUnavailable, "unavailable")
        }
        // The provider retries against a healthy relay on the same file: the event is new.
        try await IngestServer.test(store: try await TestStore.make(in: directory)) { client, store in
            let body = LINEBody.body(ids: "01GLATER")
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body)),
                               accepted: 1, duplicates: 0)
            #expect(try await store.stats().events == 1)
        }
    }
}
