import Foundation
import RelayCore
import Testing

extension DeliveryEngine {
    /// Routes pick destinations by source list and type glob; an event no route names is stored but never forwarded.
    @Suite struct Routing {
        static let secret = "line-routing-secret"

        static func yaml(receiver port: Int) -> String {
            """
            retry: [100ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
              eightxeight:
                provider: 8x8
                auth:
                  bearer: eight-token
            destinations:
              deliveries:
                url: http://127.0.0.1:\(port)/deliveries
              lineonly:
                url: http://127.0.0.1:\(port)/line
            routes:
              - from: [line, eightxeight]
                types: ["delivery.*"]
                to: [deliveries]
              - from: [line]
                to: [lineonly]
            """
        }

        static func inbound(umid: String) -> [UInt8] {
            Array((#"{"namespace":"ChatApps","eventType":"inbound_message_received","description":"ChatApps inbound message","#
                + #""payload":{"umid":"\#(umid)","subAccountId":"acme_whatsapp","timestamp":"2025-05-05T09:15:57.00Z","#
                + #""user":{"msisdn":"+6512345678","channelUserId":"6512345678"},"recipient":{"channel":"whatsapp"},"#
                + #""type":"Text","content":{"text":"Hi"}}}"#).utf8)
        }

        @Test func aDuplicateRequestIsAcknowledgedButNotDeliveredAgain() async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.port)) { engine in
                    let id = LINE.eventID()
                    let body = LINE.body([LINE.deliveryEvent(id: id)])
                    let first = try await engine.postLINE(body, secret: Self.secret)
                    #expect(first.body.contains(#""accepted":1"#))
                    #expect(await eventually { receiver.count == 2 })  // deliveries and lineonly
                    // The provider retries the same request, and one more mixing old and new.
                    let again = try await engine.postLINE(body, secret: Self.secret)
                    #expect(again.status == 200 && again.body.contains(#""duplicates":1"#) && again.body.contains(#""accepted":0"#))
                    let fresh = LINE.eventID()
                    let mixed = try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: id), LINE.followEvent(id: fresh)]), secret: Self.secret)
                    #expect(mixed.body.contains(#""accepted":1"#) && mixed.body.contains(#""duplicates":1"#))
                    #expect(await eventually { receiver.count == 3 })
                    #expect(receiver.hits.filter { $0.header("webhook-id") == id }.count == 2)
                    #expect(receiver.hits.last?.header("webhook-id") == fresh)
                    let stats = try await engine.store.stats(nowMilliseconds: Timestamp.nowMilliseconds())
                    #expect(stats.events == 2)
                    #expect(stats.destinations.reduce(0) { $0 + $1.delivered + $1.pending + $1.inFlight } == 3)
                }
            }
        }

        /// The canonical id (dedup key) of a one-event 8x8 body.
        static func eventID(_ body: [UInt8]) throws -> String {
            try #require(try ProviderRegistry.provider(for: .eightByEight)!.events(from: body, sourceID: "eightxeight", receivedAtMilliseconds: 0).first).id
        }

        @Test func sourceListsAndTypeGlobsPickTheDestinations() async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.port)) { engine in
                    let lineDelivery = LINE.eventID()
                    let lineFollow = LINE.eventID()
                    let deliveredBody = eightByEightDelivered()
                    let unroutedBody = Self.inbound(umid: UUID().uuidString.lowercased())
                    let delivered = try Self.eventID(deliveredBody)
                    let unrouted = try Self.eventID(unroutedBody)
                    let eight = [("Authorization", "Bearer eight-token")]

                    let replies = [
                        try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: lineDelivery), LINE.followEvent(id: lineFollow)]), secret: Self.secret),
                        try await post(engine.webhookURL("eightxeight"), body: deliveredBody, headers: eight),
                        try await post(engine.webhookURL("eightxeight"), body: unroutedBody, headers: eight),
                    ]
                    #expect(replies.map(\.status) == [200, 200, 200])
                    #expect(replies.last?.body.contains(#""accepted":1"#) == true, "the unrouted event is still accepted")

                    #expect(await eventually(timeout: .seconds(10)) { receiver.count == 4 })
                    func ids(_ path: String) -> Set<String> {
                        Set(receiver.hits.filter { $0.path == path }.compactMap { $0.header("webhook-id") })
                    }
                    #expect(ids("/deliveries") == [lineDelivery, delivered])
                    #expect(ids("/line") == [lineDelivery, lineFollow])

                    let stats = try await engine.store.stats(nowMilliseconds: Timestamp.nowMilliseconds())
                    // All four events are stored (dedup keys too); only routed ones have jobs.
                    #expect(stats.events == 4)
                    #expect(stats.dedupKeys == 4)
                    let jobs = stats.destinations.reduce(0) { $0 + $1.pending + $1.inFlight + $1.dead + $1.delivered }
                    #expect(jobs == 4)
                    #expect(Set(stats.destinations.map(\.destination)) == ["deliveries", "lineonly"])
                    #expect(!receiver.hits.contains { $0.header("webhook-id") == unrouted })
                }
            }
        }
    }
}
