import Foundation
import RelayCore
import RelayTestSupport
import Testing

extension DeliveryEngine {
    /// Expected deliveries for LINE notification messages (SPEC section 10a), with real `relay serve` processes on each
    /// store: registered keys, real signed LINE delivery completion events, one `delivery.overdue` for the key whose
    /// delivery never came, exactly once across a kill -9 and two instances; bad input refused with nothing stored.
    @Suite("Expected deliveries")
    struct ExpectedDeliveryTests {
        static let secret = "line-expected-delivery-secret"

        static func yaml(receiver: String) -> String {
            """
            retry: [200ms, 400ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
                expect_receipt: 24h
              plain-line:
                provider: line
                channel_secret: \(secret)-plain
              eightxeight:
                provider: 8x8
                auth:
                  bearer: eight-token
            destinations:
              crm:
                url: \(receiver)/crm
            routes:
              - types: ["delivery.*"]
                to: [crm]

            """
        }

        static func register(_ port: Int, _ body: String) async throws -> HTTPReply {
            try await post("http://127.0.0.1:\(port)/admin/expectations", body: Array(body.utf8))
        }

        static func expectations(_ keys: [String], within: String = "2s", source: String = "line") -> String {
            #"{"source":"\#(source)","expectations":["# + keys.map { #"{"key":"\#($0)","within":"\#(within)"}"# }.joined(separator: ",") + "]}"
        }

        static func deliver(_ url: String, _ keys: [String]) async throws -> HTTPReply {
            let body = LINE.body(keys.map { LINE.deliveryEvent(id: LINE.eventID(), data: $0) })
            return try await post(url, body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: secret))])
        }

        static func overdue(_ receiver: Receiver) -> [JSONValue] {
            receiver.hits.compactMap { try? JSONParser.parse($0.body) }.filter { $0["type"]?.stringValue == "delivery.overdue" }
        }

        static func json(_ reply: HTTPReply) -> JSONValue? { try? JSONParser.parse(Array(reply.body.utf8)) }

        @Test(arguments: ReceiptLedgerTests.kinds)
        func theOneDeliveryThatNeverCameIsOverdueOnce(kind: String) async throws {
            try await Receiver.with { receiver in
                try await ReceiptLedgerTests.withRelays(Self.yaml(receiver: receiver.url), store: try await ReceiptLedgerTests.storeYAML(kind)) { relays in
                    _ = try await relays.start()
                    let tags = (1...3).map { "tag-\($0)-\(UUID().uuidString.prefix(8))" }
                    let registeredAt = ContinuousClock.now
                    let reply = try await Self.register(relays.adminPort, Self.expectations(tags))
                    #expect(reply.status == 200, "\(reply.body)")
                    #expect(Self.json(reply) == (try JSONParser.parse(#"{"already_met":0,"registered":3}"#)))
                    #expect(try await Self.deliver(relays.webhookURL("line"), Array(tags.prefix(2))).status == 200)
                    #expect(await eventually(timeout: .seconds(10)) { !Self.overdue(receiver).isEmpty })
                    let after = ContinuousClock.now - registeredAt
                    print("overdue for the undelivered tag \(after) after registering it (within 2s)")
                    #expect(after >= .seconds(2) && after < .seconds(5), "\(after)")
                    let event = try #require(Self.overdue(receiver).first)
                    #expect(event["id"]?.stringValue == "\(tags[2]):overdue" && event["source"]?.stringValue == "/line/line")
                    #expect(event["data"]?["reason"]?.stringValue == "no delivery completion event within 2s: blocked, no consent or no SMS authentication")
                    #expect(event["data"]?["expected_within_seconds"] == .integer(2) && event["data"]?["provider"]?.stringValue == "line")
                    // Registering a delivered tag now meets it at once; the ledger shows the deliveries.
                    let late = try await Self.register(relays.adminPort, Self.expectations([tags[0]]))
                    #expect(Self.json(late) == (try JSONParser.parse(#"{"already_met":1,"registered":0}"#)))
                    let message = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/messages/line/\(tags[0])"))
                    #expect(Self.json(message)?["status"]?.stringValue == "delivered" && Self.json(message)?["overdue"] == .bool(false))
                    let cli = try await runRelayCommand(["messages", "show", tags[2], "--source", "line", "--config", relays.configPath, "--json"])
                    #expect((try? JSONParser.parse(cli.stdout))?["overdue"] == .bool(true), "\(cli.stderr)")
                    try await Task.sleep(for: .seconds(2))
                    #expect(Self.overdue(receiver).count == 1)
                }
            }
        }

        @Test func badRegistrationsAreRefusedAndStoreNothing() async throws {
            try await Receiver.with { receiver in
                try await ReceiptLedgerTests.withRelays(Self.yaml(receiver: receiver.url)) { relays in
                    _ = try await relays.start()
                    let many = (0...1_000).map { "k\($0)" }
                    let cases: [(String, String)] = [
                        (Self.expectations(["a1"], source: "nowhere"), "unknown source \"nowhere\""),
                        (Self.expectations(["a2"], source: "eightxeight"), "source \"eightxeight\" (8x8) reports every outcome itself"),
                        (Self.expectations(many), "at most 1000 expectations per request, got 1001"),
                        (Self.expectations(["a6"], source: "plain-line"), "keeps no delivery ledger: set sources.plain-line.expect_receipt"),
                        (Self.expectations(["a3", ""]), "expectations[1].key must not be empty"),
                        (Self.expectations(["a4"], within: "soon"), "expectations[0].within must be a duration"),
                        (#"{"source":"line","expectations":[{"key":"a5","within":"1s","extra":1}]}"#, "unknown key \"extra\""),
                        (#"{"source":"line"}"#, "\"expectations\" must be a list"),
                        ("not json", "the body must be a JSON object"),
                    ]
                    for (body, message) in cases {
                        let reply = try await Self.register(relays.adminPort, body)
                        #expect(reply.status == 400, "\(body.prefix(80))")
                        #expect(Self.json(reply)?["error"]?.stringValue == "invalid_request")
                        #expect(Self.json(reply)?["message"]?.stringValue?.contains(message) == true, "\(reply.body)")
                    }
                    for key in ["a1", "a3", "a4", "a5", "k0"] {
                        #expect(await get("http://127.0.0.1:\(relays.adminPort)/admin/messages/line/\(key)")?.status == 404, "\(key)")
                    }
                    let cli = try await runRelayCommand(["expect", "--source", "line", "--within", "soon", "k1", "--config", relays.configPath])
                    #expect(cli.status == 1 && cli.stderr == "relay: expectations[0].within must be a duration such as \"24h\" or \"90m\"\n", "\(cli.stderr)")
                }
            }
        }

        @Test func anExpectationSurvivesAKillAndIsOverdueOnce() async throws {
            try await Receiver.with { receiver in
                try await ReceiptLedgerTests.withRelays(Self.yaml(receiver: receiver.url)) { relays in
                    let process = try await relays.start()
                    // Registered with the CLI beside the running relay, then the relay is killed before the deadline.
                    let tag = "tag-\(UUID().uuidString.prefix(8))"
                    let cli = try await runRelayCommand(["expect", "--source", "line", "--within", "2s", tag, "--config", relays.configPath])
                    #expect(cli.status == 0 && cli.stdout.contains("registered: 1"), "\(cli.stderr)")
                    kill(process.processIdentifier, SIGKILL)
                    _ = await relays.waitForExit(process, timeout: .seconds(5))
                    _ = try await relays.start()
                    #expect(await eventually(timeout: .seconds(10)) { !Self.overdue(receiver).isEmpty })
                    try await Task.sleep(for: .seconds(2))
                    #expect(Self.overdue(receiver).map { $0["id"]?.stringValue } == ["\(tag):overdue"])
                }
            }
        }

        @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
        func theSameExpectationOnTwoInstancesIsOverdueOnce() async throws {
            try await Receiver.with { receiver in
                try await ReceiptLedgerTests.withRelays(Self.yaml(receiver: receiver.url), store: try await ReceiptLedgerTests.storeYAML("postgres")) { relays in
                    _ = try await relays.start()
                    let second = try RelayProcesses.Ports.free()
                    _ = try await relays.start(ports: second)
                    let tags = (0..<10).map { "tag-\($0)-\(UUID().uuidString.prefix(8))" }
                    let replies = try await withThrowingTaskGroup(of: HTTPReply.self) { group in
                        for port in [relays.adminPort, second.admin, relays.adminPort, second.admin] {
                            group.addTask { try await Self.register(port, Self.expectations(tags.shuffled())) }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    #expect(replies.allSatisfy { $0.status == 200 })
                    #expect(await eventually(timeout: .seconds(10)) { Self.overdue(receiver).count >= 10 })
                    try await Task.sleep(for: .seconds(2))
                    #expect(Self.overdue(receiver).count == 10)
                    #expect(Set(Self.overdue(receiver).compactMap { $0["id"]?.stringValue }) == Set(tags.map { "\($0):overdue" }))
                }
            }
        }
    }
}
