import Foundation
import Synchronization
import RelayCore
import RelayTestSupport
import Testing

extension DeliveryEngine {
    /// Route filters and redaction end to end (SPEC section 16): a real `relay serve` process, real receivers for three
    /// destinations with different filters (one redacting), signatures checked independently, a reload that changes
    /// routing for new events only, and `relay route` on the same file.
    @Suite("Route filters: delivery")
    struct RouteFilterDeliveryTests {
        static let token = "eight-filter-token"
        static let secret = "whsec_" + Data("route-filter-signing-key".utf8).base64EncodedString()

        static func yaml(receiver: String, alertsChannels: String = "[whatsapp, viber]", analyticsBatch: Int? = nil) -> String {
            """
            retry: [200ms]
            sources:
              eightxeight:
                provider: 8x8
                auth:
                  bearer: \(token)
            destinations:
              alerts:
                url: \(receiver)/alerts
                secret: \(secret)
              campaign:
                url: \(receiver)/campaign
                secret: \(secret)
              analytics:
                url: \(receiver)/analytics
                secret: \(secret)
                redact: [data.recipient, data.raw]\(analyticsBatch.map { "\n    batch: \($0)\n    concurrency: 1" } ?? "")
            routes:
              - types: ["delivery.*"]
                where:
                  data.channel: \(alertsChannels)
                  data.status: undelivered
                to: [alerts]
              - where:
                  data.message.client_message_id: {prefix: "campaign-"}
                to: [campaign]
              - where:
                  data.status: {not: [queued]}
                to: [analytics]

            """
        }

        static func status(_ umid: String, _ state: String, channel: String, clientID: String) -> [UInt8] {
            Array((#"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","description":"receipt","#
                + #""payload":{"umid":"\#(umid)","clientMessageId":"\#(clientID)","subAccountId":"acme","channel":"\#(channel)","#
                + #""user":{"msisdn":"+6512345678","channelUserId":"6512345678"},"#
                + #""status":{"state":"\#(state)","timestamp":"2026-11-24T09:00:00.00Z"}}}"#).utf8)
        }

        static func send(_ url: String, _ body: [UInt8]) async throws -> Int {
            try await post(url, body: body, headers: [("Authorization", "Bearer \(token)")]).status
        }

        /// The event ids each destination received, and every body's signature checked.
        static func received(_ receiver: Receiver, _ path: String) throws -> [String] {
            try receiver.hits.filter { $0.path.hasSuffix(path) }.map { hit in
                let id = try #require(hit.header("webhook-id")), timestamp = try #require(hit.header("webhook-timestamp"))
                let expected = try #require(StandardWebhooksCheck.expectedSignature(secret: secret, id: id, timestamp: timestamp, body: hit.body))
                #expect(hit.header("webhook-signature") == expected, "the signature covers the body as sent (\(path))")
                return id
            }
        }

        @Test func eachDestinationGetsExactlyItsEventsAndFieldsAndAReloadChangesOnlyNewEvents() async throws {
            try await Receiver.with { receiver in
                try await RelayProcesses.with(Self.yaml(receiver: receiver.url)) { relays in
                    let relay = try await relays.start(logLevel: "info")
                    let url = relays.webhookURL("eightxeight")
                    // umid, state, channel, client message id: which destinations each should reach.
                    let cases: [(String, String, String, String, Set<String>)] = [
                        ("m1", "undelivered", "whatsapp", "campaign-7", ["/alerts", "/campaign", "/analytics"]),
                        ("m2", "undelivered", "sms", "order-1", ["/analytics"]),
                        ("m3", "queued", "viber", "campaign-8", ["/campaign"]),
                        ("m4", "delivered", "viber", "x", ["/analytics"]),
                    ]
                    for (umid, state, channel, client) in cases.map({ ($0.0, $0.1, $0.2, $0.3) }) {
                        #expect(try await Self.send(url, Self.status(umid, state, channel: channel, clientID: client)) == 200)
                    }
                    let expectedHits = cases.reduce(0) { $0 + $1.4.count }
                    #expect(await eventually(timeout: .seconds(10)) { receiver.count == expectedHits }, "hits \(receiver.count) of \(expectedHits)")
                    for (umid, _, _, _, wanted) in cases {
                        let got = Set(receiver.hits.filter { hit in (try? JSONParser.parse(hit.body))?["subject"]?.stringValue == umid }.map { "/" + ($0.path.split(separator: "/").last ?? "") })
                        #expect(got == wanted, "\(umid): \(got)")
                    }
                    for path in ["/alerts", "/campaign", "/analytics"] { _ = try Self.received(receiver, path) }
                    // The analytics body has neither the recipient nor the provider's original event; the others have both.
                    for hit in receiver.hits {
                        let data = try #require(try JSONParser.parse(hit.body)["data"])
                        let redacted = hit.path.hasSuffix("/analytics")
                        #expect((data["recipient"] == nil) == redacted && (data["raw"] == nil) == redacted, "\(hit.path)")
                        #expect(String(decoding: hit.body, as: UTF8.self).contains("6512345678") == !redacted)
                        #expect(data["status"] != nil)
                    }

                    // A reload that adds sms to the alerts route: new events only.
                    try relays.writeConfig(Self.yaml(receiver: receiver.url, alertsChannels: "[whatsapp, viber, sms]"))
                    kill(relay.processIdentifier, SIGHUP)
                    #expect(await eventually { relays.logTail(200).contains("config reloaded") })
                    #expect(try await Self.send(url, Self.status("m5", "undelivered", channel: "sms", clientID: "o")) == 200)
                    #expect(await eventually(timeout: .seconds(10)) { receiver.hits.filter { $0.path.hasSuffix("/alerts") }.count == 2 })
                    let alerts = receiver.hits.filter { $0.path.hasSuffix("/alerts") }.compactMap { (try? JSONParser.parse($0.body))?["subject"]?.stringValue }
                    #expect(Set(alerts) == ["m1", "m5"], "m2 (sms, before the reload) is not sent again")

                    // `relay route` on the same file says the same for a body, and shows the redacted body.
                    let body = relays.directory.file("m6.json")
                    try Data(Self.status("m6", "undelivered", channel: "sms", clientID: "campaign-9")).write(to: URL(fileURLWithPath: body))
                    let result = try await runRelayCommand(["route", "--config", relays.configPath, "--source", "eightxeight", body])
                    #expect(result.status == 0, "\(result.stderr)")
                    #expect(result.stdout.contains("routes[0]") && result.stdout.contains("routes[1]") && result.stdout.contains("routes[2]"), "\(result.stdout)")
                    let analytics = try #require(result.stdout.split(separator: "\n").first { $0.contains("-> analytics:") })
                    #expect(analytics.contains("without data.recipient, data.raw") && !analytics.contains("6512345678"))
                    let alertsLine = try #require(result.stdout.split(separator: "\n").first { $0.contains("-> alerts:") })
                    #expect(alertsLine.contains("6512345678"))
                }
            }
        }
    
        /// The Standard Webhooks project's own verifier (Python) accepts every redacted body, single and batched: the
        /// signature covers the body as redacted. The first analytics request is answered slowly so the events behind
        /// it wait and go as a batch.
        @Test(.enabled(if: OptionalTool.pythonStandardWebhooks.isAvailable, Comment(rawValue: OptionalTool.pythonStandardWebhooks.skipReason)))
        func redactedSingleAndBatchBodiesVerifyWithTheStandardWebhooksLibrary() async throws {
            let firstAnalytics = Mutex(true)
            let slowFirst: @Sendable (Hit) -> Reply = { hit in
                guard hit.path.hasSuffix("/analytics") else { return .ok }
                return firstAnalytics.withLock { first in defer { first = false }; return first ? Reply(delay: .milliseconds(500)) : .ok }
            }
            try await Receiver.with(slowFirst) { receiver in
                try await RelayProcesses.with(Self.yaml(receiver: receiver.url, analyticsBatch: 10)) { relays in
                    _ = try await relays.start()
                    let url = relays.webhookURL("eightxeight")
                    for n in 0..<6 {
                        #expect(try await Self.send(url, Self.status("b\(n)", "delivered", channel: "sms", clientID: "order-\(n)")) == 200)
                    }
                    func analytics() -> [Hit] { receiver.hits.filter { $0.path.hasSuffix("/analytics") } }
                    let events = { analytics().reduce(0) { $0 + (((try? JSONParser.parse($1.body))?.arrayValue?.count) ?? 0) } }
                    #expect(await eventually(timeout: .seconds(10)) { events() == 6 }, "analytics got \(events()) events")
                    let hits = analytics()
                    #expect(hits.contains { ((try? JSONParser.parse($0.body))?.arrayValue?.count ?? 0) > 1 }, "no batch of several events")
                    #expect(hits.allSatisfy { !$0.text.contains("6512345678") && !$0.text.contains("recipient") })
                    let verdicts = try StandardWebhooksLibrary.verify(secret: Self.secret, hits: hits)
                    #expect(verdicts.count == hits.count && verdicts.allSatisfy { $0 == "ok" }, "\(verdicts)")
                    // Not vacuous: one byte changed fails it.
                    var tampered = try #require(hits.last)
                    tampered.body[tampered.body.count / 2] ^= 0x01
                    #expect(try StandardWebhooksLibrary.verify(secret: Self.secret, hits: [tampered]).first?.hasPrefix("fail") == true)
                }
            }
        }
    }
}
