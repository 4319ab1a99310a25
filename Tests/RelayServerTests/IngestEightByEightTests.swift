import Foundation
import HTTPTypes
import HummingbirdTesting
import RelayCore
import Testing

/// `POST /webhooks/<8x8 source>` over real HTTP: the configured `Authorization`, one event per request.
@Suite("Ingest: 8x8")
struct IngestEightByEightTests {
    @Test(arguments: ["Basic", "basic", "BASIC"])
    func basicAuthAccepts(scheme: String) async throws {
        try await IngestServer.test { client, store in
            let body = EightByEightBody.receipt(umid: "u-basic")
            let token = String(HTTP.basic.dropFirst("Basic ".count))
            let response = try await client.execute(
                uri: "/webhooks/eight-basic", method: .post, headers: HTTP.authorization("\(scheme) \(token)"), body: HTTP.buffer(body))
            try HTTP.expectAck(response, accepted: 1, duplicates: 0)
            let job = try #require(try await store.store.claimDue(destination: "crm", nowMilliseconds: Timestamp.nowMilliseconds(), limit: 10).first)
            #expect(job.eventID == "u-basic:whatsapp:delivered:")
            #expect(job.sourceID == "eight-basic")
            #expect(job.provider == .eightByEight)
        }
    }

    @Test func basicAuthRefusals() async throws {
        try await IngestServer.test { client, store in
            let body = EightByEightBody.receipt(umid: "u-refused")
            let wrongPassword = "Basic " + Data("relay:wrong".utf8).base64EncodedString()
            let token = String(HTTP.basic.dropFirst("Basic ".count))
            for (label, headers) in [
                ("missing", [.contentType: "application/json"] as HTTPFields),
                ("wrong password", HTTP.authorization(wrongPassword)),
                ("wrong scheme", HTTP.authorization("Bearer \(token)")),
                ("bearer token on basic source", HTTP.authorization("Bearer \(TestConfig.bearer)")),
                ("no scheme", HTTP.authorization(token)),
            ] {
                let response = try await client.execute(uri: "/webhooks/eight-basic", method: .post, headers: headers, body: HTTP.buffer(body))
                try HTTP.expectError(response, .unauthorized, "invalid_signature")
                #expect(response.status == .unauthorized, "\(label)")
            }
            #expect(try await store.stats().events == 0)
        }
    }

    @Test func bearerAuth() async throws {
        try await IngestServer.test { client, store in
            let body = EightByEightBody.receipt(umid: "u-bearer")
            for wrong in ["Bearer nope", "Basic \(TestConfig.bearer)", TestConfig.bearer] {
                try HTTP.expectError(try await client.execute(
                    uri: "/webhooks/eight-bearer", method: .post, headers: HTTP.authorization(wrong), body: HTTP.buffer(body)),
                    .unauthorized, "invalid_signature")
            }
            try HTTP.expectError(try await client.execute(uri: "/webhooks/eight-bearer", method: .post, body: HTTP.buffer(body)),
                                 .unauthorized, "invalid_signature")
            #expect(try await store.stats().events == 0)
            try HTTP.expectAck(try await client.execute(
                uri: "/webhooks/eight-bearer", method: .post, headers: HTTP.authorization("Bearer \(TestConfig.bearer)"), body: HTTP.buffer(body)),
                accepted: 1, duplicates: 0)
        }
    }

    @Test func noAuthAcceptsWithoutHeader() async throws {
        try await IngestServer.test { client, store in
            let body = EightByEightBody.receipt(umid: "u-open")
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/eight-none", method: .post, body: HTTP.buffer(body)),
                               accepted: 1, duplicates: 0)
            #expect(try await store.stats().events == 1)
        }
    }

    @Test func statusChangesOfOneMessageAreSeparateEventsAndRetriesAreDuplicates() async throws {
        try await IngestServer.test { client, store in
            let headers = HTTP.authorization(HTTP.basic)
            for name in ["delivered.json", "read.json", "delivered.json", "read.json"].enumerated() {
                let body = String(decoding: try ServerFixtures.bytes("8x8/\(name.element)"), as: UTF8.self)
                let response = try await client.execute(uri: "/webhooks/eight-basic", method: .post, headers: headers, body: HTTP.buffer(body))
                let isRetry = name.offset >= 2
                try HTTP.expectAck(response, accepted: isRetry ? 0 : 1, duplicates: isRetry ? 1 : 0)
            }
            let stats = try await store.stats()
            #expect(stats.events == 2)
            #expect(stats.pending("crm") == 2)
        }
    }

    @Test func everyFixtureIsAccepted() async throws {
        try await IngestServer.test { client, store in
            let names = ["chatapps-inbound-v3", "delivered", "external-app-message", "read", "sms-inbound", "sms-undelivered",
                         "undelivered", "v9-delivered-to-operator", "v9-queued"]
            for name in names {
                let body = String(decoding: try ServerFixtures.bytes("8x8/\(name).json"), as: UTF8.self)
                let response = try await client.execute(
                    uri: "/webhooks/eight-bearer", method: .post, headers: HTTP.authorization("Bearer \(TestConfig.bearer)"), body: HTTP.buffer(body))
                try HTTP.expectAck(response, accepted: 1, duplicates: 0)
            }
            #expect(try await store.stats().events == names.count)
        }
    }

    @Test func malformedEventIsRefusedAndNotStored() async throws {
        try await IngestServer.test { client, store in
            let noUmid = EightByEightBody.receipt(umid: "u-x").replacingOccurrences(of: #""umid":"u-x","#, with: "")
            let response = try await client.execute(
                uri: "/webhooks/eight-basic", method: .post, headers: HTTP.authorization(HTTP.basic), body: HTTP.buffer(noUmid))
            try HTTP.expectError(response, .badRequest, "invalid_payload")
            #expect(try HTTP.json(response)["message"]?.stringValue?.contains("umid") == true)
            #expect(try await store.stats().events == 0)
        }
    }
}
