import Foundation
import RelayCore
import Testing

extension DeliveryEngine {
    /// Format `passthrough`: LINE re-signed one event per request for an unchanged LINE SDK backend; 8x8 byte for byte.
    @Suite struct PassthroughDelivery {
        static let sourceSecret = "line-source-channel-secret"
        static let botSecret = "legacy-bot-channel-secret"

        static func yaml(receiver: String) -> String {
            """
            retry: [100ms, 200ms, 400ms]
            sources:
              line:
                provider: line
                channel_secret: \(sourceSecret)
              eightxeight:
                provider: 8x8
                auth:
                  bearer: eight-token
            destinations:
              bot:
                url: \(receiver)
                format: passthrough
                line_channel_secret: \(botSecret)
            routes:
              - to: [bot]
            """
        }

        @Test func lineEventsAreSplitAndReSignedWithTheDestinationSecret() async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url)) { engine in
                    let ids = (0..<3).map { _ in LINE.eventID() }
                    let events = [LINE.deliveryEvent(id: ids[0]), LINE.followEvent(id: ids[1]), LINE.deliveryEvent(id: ids[2])]
                    let reply = try await engine.postLINE(LINE.body(events), secret: Self.sourceSecret)
                    #expect(reply.status == 200)
                    #expect(await eventually { receiver.count == 3 })

                    var seen: [String: JSONValue] = [:]
                    for hit in receiver.hits {
                        // What a LINE SDK does: HMAC over the exact bytes with its channel secret.
                        let signature = try #require(hit.header("X-Line-Signature"))
                        #expect(signature == LINE.signature(hit.body, secret: Self.botSecret), "X-Line-Signature does not verify")
                        #expect(signature != LINE.signature(hit.body, secret: Self.sourceSecret))
                        #expect(hit.header("Content-Type")?.hasPrefix("application/json") == true)
                        #expect(hit.header("webhook-signature") == nil)

                        let body = try JSONParser.parse(hit.body)
                        #expect(body["destination"]?.stringValue == LINE.destination)
                        let forwarded = try #require(body["events"]?.arrayValue)
                        #expect(forwarded.count == 1)
                        let event = try #require(forwarded.first)
                        let id = try #require(event["webhookEventId"]?.stringValue)
                        seen[id] = event
                    }
                    #expect(Set(seen.keys) == Set(ids))
                    // Each forwarded event is the original event object.
                    for (id, original) in zip(ids, events) {
                        #expect(seen[id] == (try JSONParser.parse(Array(original.utf8))))
                    }
                }
            }
        }

        /// A destination switched to passthrough by a reload after the event was stored: the LINE body is rebuilt
        /// from the stored canonical event, and still verifies with the LINE SDK's check.
        @Test func passthroughBodyIsRebuiltAfterAReload() async throws {
            try await Receiver.with({ hit in hit.index == 0 ? .status(.internalServerError) : .ok }) { receiver in
                let canonical = """
                    retry: [300ms]
                    sources:
                      line:
                        provider: line
                        channel_secret: \(Self.sourceSecret)
                    destinations:
                      bot:
                        url: \(receiver.url)
                    routes:
                      - to: [bot]
                    """
                try await Engine.with(yaml: canonical) { engine in
                    let id = LINE.eventID()
                    let event = LINE.deliveryEvent(id: id)
                    #expect(try await engine.postLINE(LINE.body([event]), secret: Self.sourceSecret).status == 200)
                    #expect(await eventually { receiver.count == 1 })
                    #expect(receiver.hits.first?.header("Content-Type") == "application/cloudevents+json")
                    engine.config.replace(with: try ConfigLoader.parse(yaml: Self.yaml(receiver: receiver.url), environment: [:]))

                    #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("bot").delivered == 1 })
                    let hit = try #require(receiver.hits.last)
                    #expect(receiver.count == 2)
                    #expect(hit.header("X-Line-Signature") == LINE.signature(hit.body, secret: Self.botSecret))
                    let body = try JSONParser.parse(hit.body)
                    #expect(body["destination"]?.stringValue == LINE.destination)
                    #expect(body["events"]?.arrayValue == [try JSONParser.parse(Array(event.utf8))])
                }
            }
        }

        @Test func eightByEightBodyArrivesByteForByte() async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url)) { engine in
                    // Odd spacing and key order: only a byte copy survives this.
                    var text = String(decoding: eightByEightDelivered(), as: UTF8.self)
                    text = text.replacingOccurrences(of: #","payload":"#, with: ",\n  \"payload\" :  ") + "\n"
                    let body = Array(text.utf8)
                    let reply = try await post(engine.webhookURL("eightxeight"), body: body, headers: [("Authorization", "Bearer eight-token")])
                    #expect(reply.status == 200)
                    #expect(await eventually { receiver.count == 1 })
                    let hit = try #require(receiver.hits.first)
                    #expect(hit.body == body)
                    #expect(hit.header("Authorization") == nil)
                    #expect(hit.header("X-Line-Signature") == nil)
                }
            }
        }
    }
}
