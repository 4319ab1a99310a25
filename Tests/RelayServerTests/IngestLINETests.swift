import HTTPTypes
import HummingbirdTesting
import RelayCore
import Testing

/// `POST /webhooks/line` over real HTTP: acknowledgements, duplicates, signatures (SPEC sections 4 and 5).
@Suite("Ingest: LINE")
struct IngestLINETests {
    @Test func newEventsAreAcceptedAndStored() async throws {
        try await IngestServer.test { client, store in
            let body = LINEBody.body(ids: "01GA", "01GB", "01GC")
            let response = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body))
            try HTTP.expectAck(response, accepted: 3, duplicates: 0)
            let stats = try await store.stats()
            #expect(stats.events == 3)
            #expect(stats.pending("crm") == 3)
            let jobs = try await store.store.claimDue(destination: "crm", nowMilliseconds: Timestamp.nowMilliseconds(), limit: 10)
            #expect(Set(jobs.map(\.eventID)) == ["01GA", "01GB", "01GC"])
            #expect(jobs.allSatisfy { $0.sourceID == "line" && $0.type == "delivery.delivered" })
            // The stored body is the canonical event.
            let canonical = try JSONParser.parse(try #require(jobs.first).canonical)
            #expect(canonical["source"] == .string("/line/Uc7472b39e21dab71c2347e02714630d6"))
            #expect(canonical["data"]?["source_id"] == .string("line"))
        }
    }

    @Test func someDuplicatesThenAllDuplicates() async throws {
        try await IngestServer.test { client, store in
            let first = LINEBody.body(ids: "01GA")
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(first), body: HTTP.buffer(first)),
                               accepted: 1, duplicates: 0)
            let mixed = LINEBody.body(ids: "01GA", "01GB")
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(mixed), body: HTTP.buffer(mixed)),
                               accepted: 1, duplicates: 1)
            // The provider's retry of the same request: all duplicates, still 200, nothing stored.
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(mixed), body: HTTP.buffer(mixed)),
                               accepted: 0, duplicates: 2)
            let stats = try await store.stats()
            #expect(stats.events == 2)
            #expect(stats.pending("crm") == 2)
        }
    }

    @Test func verificationCallIsAcknowledgedAndStoresNothing() async throws {
        try await IngestServer.test { client, store in
            let body = #"{"destination":"Uc7472b39e21dab71c2347e02714630d6","events":[]}"#
            let response = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body))
            try HTTP.expectAck(response, accepted: 0, duplicates: 0)
            let stats = try await store.stats()
            #expect(stats.events == 0)
            #expect(stats.dedupKeys == 0)
        }
    }

    @Test func missingOrWrongSignatureIsRefused() async throws {
        try await IngestServer.test { client, store in
            let body = LINEBody.body(ids: "01GA")
            let missing = try await client.execute(uri: "/webhooks/line", method: .post, headers: [.contentType: "application/json"], body: HTTP.buffer(body))
            try HTTP.expectError(missing, .unauthorized, "invalid_signature")
            let wrongSecret = try await client.execute(
                uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body, secret: "not-the-secret"), body: HTTP.buffer(body))
            try HTTP.expectError(wrongSecret, .unauthorized, "invalid_signature")
            // Signed over other bytes: the signature covers the exact body.
            let otherBody = LINEBody.body(ids: "01GB")
            let otherBytes = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(otherBody), body: HTTP.buffer(body))
            try HTTP.expectError(otherBytes, .unauthorized, "invalid_signature")
            let garbage = try await client.execute(
                uri: "/webhooks/line", method: .post, headers: [HTTP.lineSignature: "%%% not base64"], body: HTTP.buffer(body))
            try HTTP.expectError(garbage, .unauthorized, "invalid_signature")
            // The signature is checked before parsing: a bad body with a bad signature is a 401, not a 400.
            let notJSON = try await client.execute(uri: "/webhooks/line", method: .post, headers: [HTTP.lineSignature: "AAAA"], body: HTTP.buffer("nope"))
            try HTTP.expectError(notJSON, .unauthorized, "invalid_signature")
            #expect(try await store.stats().events == 0)
            // The same event, properly signed, was never recorded.
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body)),
                               accepted: 1, duplicates: 0)
        }
    }

    @Test(arguments: ["x-line-signature", "X-LINE-SIGNATURE", "X-Line-Signature", "x-LiNe-SiGnAtUrE"])
    func signatureHeaderNameIsCaseInsensitive(name: String) async throws {
        try await IngestServer.test { client, _ in
            let body = LINEBody.body(ids: "01GCASE")
            let response = try await client.execute(
                uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body, name: name), body: HTTP.buffer(body))
            try HTTP.expectAck(response, accepted: 1, duplicates: 0)
        }
    }

    @Test func eitherRotationSecretVerifies() async throws {
        try await IngestServer.test { client, store in
            let old = LINEBody.body(ids: "01GOLD")
            try HTTP.expectAck(try await client.execute(
                uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(old, secret: TestConfig.lineSecretA), body: HTTP.buffer(old)),
                accepted: 1, duplicates: 0)
            let new = LINEBody.body(ids: "01GNEW")
            try HTTP.expectAck(try await client.execute(
                uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(new, secret: TestConfig.lineSecretB), body: HTTP.buffer(new)),
                accepted: 1, duplicates: 0)
            let third = LINEBody.body(ids: "01GTHIRD")
            try HTTP.expectError(try await client.execute(
                uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(third, secret: "line-secret-cccc-3333"), body: HTTP.buffer(third)),
                .unauthorized, "invalid_signature")
            #expect(try await store.stats().events == 2)
        }
    }

    @Test func redeliveryIsDeduplicatedLikeAnyEvent() async throws {
        try await IngestServer.test { client, store in
            // Unseen redelivery: new, forwarded with data.redelivery true.
            let unseen = LINEBody.body([LINEBody.event("01GRED", redelivery: true)])
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(unseen), body: HTTP.buffer(unseen)),
                               accepted: 1, duplicates: 0)
            let job = try #require(try await store.store.claimDue(destination: "crm", nowMilliseconds: Timestamp.nowMilliseconds(), limit: 10).first)
            #expect(job.eventID == "01GRED")
            #expect(try JSONParser.parse(job.canonical)["data"]?["redelivery"] == .bool(true))
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(unseen), body: HTTP.buffer(unseen)),
                               accepted: 0, duplicates: 1)

            // Seen first as a normal delivery, then redelivered: a duplicate.
            let first = LINEBody.body(ids: "01GSEEN")
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(first), body: HTTP.buffer(first)),
                               accepted: 1, duplicates: 0)
            let again = LINEBody.body([LINEBody.event("01GSEEN", redelivery: true)])
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(again), body: HTTP.buffer(again)),
                               accepted: 0, duplicates: 1)
            #expect(try await store.stats().events == 2)
        }
    }

    @Test func fixtureBodiesAreAccepted() async throws {
        try await IngestServer.test { client, store in
            for name in ["delivery.json", "delivery-with-tag.json"] {
                let body = String(decoding: try ServerFixtures.bytes("line/\(name)"), as: UTF8.self)
                try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body)),
                                   accepted: 1, duplicates: 0)
            }
            #expect(try await store.stats().pending("crm") == 2)
        }
    }
}
