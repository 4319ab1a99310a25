import Foundation
import RelayCore
import Testing

extension DeliveryEngine {
    /// Format `canonical`: CloudEvents body, Standard Webhooks headers checked by the receiver's own HMAC, attempt 1
    /// started by the ingest commit rather than the 1 s poll, no provider credentials forwarded.
    @Suite struct CanonicalDelivery {
        static let lineSecret = "line-test-channel-secret"
        static let signingSecret = "whsec_" + Data("relay-test-signing-key-0123456789".utf8).base64EncodedString()

        static func yaml(receiver: String) -> String {
            """
            retry: [100ms, 200ms, 400ms]
            sources:
              line:
                provider: line
                channel_secret: \(lineSecret)
              eightxeight:
                provider: 8x8
                auth:
                  basic:
                    username: relay
                    password: eight-password
            destinations:
              crm:
                url: \(receiver)
                format: canonical
                secret: \(signingSecret)
                headers:
                  X-Team: messaging
                  X-Env: test
            routes:
              - to: [crm]
            """
        }

        @Test func signedCanonicalEventArrivesPromptlyAfterTheAck() async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url)) { engine in
                    var latencies: [Double] = []
                    for n in 0..<5 {
                        let id = LINE.eventID()
                        let event = LINE.deliveryEvent(id: id)
                        let body = LINE.body([event])
                        let reply = try await post(engine.webhookURL("line"), body: body, headers: [
                            ("X-Line-Signature", LINE.signature(body, secret: Self.lineSecret)),
                            ("Authorization", "Bearer provider-credential"),
                        ])
                        let ackedAt = ContinuousClock.now
                        #expect(reply.status == 200)
                        #expect(reply.body.contains(#""accepted":1"#))
                        #expect(await eventually(timeout: .seconds(10)) { receiver.count == n + 1 })
                        let hit = try #require(receiver.hits.last)
                        latencies.append(milliseconds(from: ackedAt, to: hit.arrivedAt))
                        try Self.checkCanonical(hit, id: id, sentBody: body, source: "line")
                        // Provider credentials stay at the edge.
                        #expect(hit.header("Authorization") == nil)
                        #expect(hit.header("X-Line-Signature") == nil)
                    }
                    print("canonical: attempt 1 after the ack, ms: \(latencies.map { Int($0) })")
                    // Posted right after the previous delivery, so a worker that only polled would take about 1 s.
                    for latency in latencies { #expect(latency < 500, "attempt 1 came \(latency) ms after the ack") }
                    // The outcome is committed a moment after the receiver answers: wait for it.
                    #expect(await eventually(timeout: .seconds(10)) {
                        let stats = try await engine.stats("crm")
                        return stats.delivered == 5 && stats.pending == 0 && stats.inFlight == 0 && stats.dead == 0
                    })
                }
            }
        }

        @Test func eightByEightCredentialsAreNotForwarded() async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url)) { engine in
                    let body = eightByEightDelivered()
                    let credential = "Basic " + Data("relay:eight-password".utf8).base64EncodedString()
                    let reply = try await post(engine.webhookURL("eightxeight"), body: body, headers: [("Authorization", credential)])
                    #expect(reply.status == 200)
                    #expect(await eventually { receiver.count == 1 })
                    let hit = try #require(receiver.hits.first)
                    #expect(hit.header("Authorization") == nil)
                    let event = try JSONParser.parse(hit.body)
                    let id = try #require(event["id"]?.stringValue)
                    try Self.checkCanonical(hit, id: id, sentBody: body, source: "eightxeight", provider: .eightByEight)
                    #expect(event["type"]?.stringValue == "delivery.delivered")
                }
            }
        }

        /// Everything the receiver checks on a canonical delivery, with its own HMAC.
        static func checkCanonical(_ hit: Hit, id: String, sentBody: [UInt8], source: String, provider: ProviderKind = .line) throws {
            #expect(hit.header("Content-Type") == "application/cloudevents+json")
            #expect(hit.header("webhook-id") == id)
            let timestamp = try #require(hit.header("webhook-timestamp"))
            let seconds = try #require(Int64(timestamp))
            #expect(abs(seconds - Timestamp.nowMilliseconds() / 1000) <= 5)
            let expected = try #require(StandardWebhooksCheck.expectedSignature(secret: signingSecret, id: id, timestamp: timestamp, body: hit.body))
            let presented = try #require(hit.header("webhook-signature"))
            #expect(presented.split(separator: " ").contains { $0 == expected }, "signature \(presented) does not verify")
            #expect(hit.header("X-Team") == "messaging")
            #expect(hit.header("X-Env") == "test")

            // The body is the canonical event of what was sent: normalize it again with the same receive time.
            let event = try JSONParser.parse(hit.body)
            #expect(event["specversion"]?.stringValue == "1.0")
            #expect(event["id"]?.stringValue == id)
            #expect(event["data"]?["source_id"]?.stringValue == source)
            let receivedAt = try #require(event["data"]?["received_at"]?.stringValue.flatMap(Timestamp.parse))
            let again = try ProviderRegistry.provider(for: provider)!.events(from: sentBody, sourceID: source, receivedAtMilliseconds: receivedAt)
            #expect(again.count == 1)
            // A status event also carries its progress (whatever the ledger held then): the rest is the same.
            var delivered = try #require(event.objectValue)
            if var data = delivered["data"]?.objectValue {
                data.members.removeAll { $0.key == "progress" }
                delivered.members = delivered.members.map { $0.key == "data" ? .init(key: "data", value: .object(data)) : $0 }
            }
            #expect(try again.first.map { try JSONParser.parse($0.canonical) } == .object(delivered), "the body is not the canonical event: \(hit.text)")
        }
    }
}
