import Foundation
import RelayCore
import RelayTestSupport
import Testing

extension DeliveryEngine {
    /// The receipt ledger end to end (SPEC section 10), with real `relay serve` processes on each store: out-of-order
    /// 8x8 receipts over HTTP, what a plain and an `advancing_only` route deliver, the lookups, and `delivery.overdue`
    /// exactly once across a kill -9 and across two instances.
    @Suite("Receipt ledger")
    struct ReceiptLedgerTests {
        static let token = "eight-ledger-token"

        static func yaml(receiver: String, expectReceipt: String? = nil) -> String {
            """
            retry: [200ms, 400ms]
            sources:
              eightxeight:
                provider: 8x8
                auth:
                  bearer: \(token)
            \(expectReceipt.map { "    expect_receipt: \($0)" } ?? "")
            destinations:
              plain:
                url: \(receiver)/plain
              adv:
                url: \(receiver)/adv
            routes:
              - to: [plain]
              - to: [adv]
                advancing_only: true

            """
        }

        /// A store for the processes: SQLite in their temp dir, or a fresh database on the test PostgreSQL.
        static func storeYAML(_ kind: String) async throws -> String? {
            kind == "postgres" ? "postgres: \"\(try await TestPostgres.shared.makeDatabase())\"" : nil
        }

        /// Runs `body` with processes on `yaml` and `store`, killed and removed afterwards (their log shown on failure).
        static func withRelays(_ yaml: String, store: String? = nil, _ body: (RelayProcesses) async throws -> Void) async throws {
            try await RelayProcesses.with(yaml, store: store, body)
        }

        static var kinds: [String] { OptionalTool.postgres.isAvailable ? ["sqlite", "postgres"] : ["sqlite"] }

        static func send(_ url: String, _ umid: String, _ state: String, _ detail: String? = nil) async throws -> HTTPReply {
            try await post(url, body: Array(EightByEightBodies.status(umid: umid, state: state, detail: detail).utf8),
                           headers: [("Authorization", "Bearer \(token)")])
        }

        static func data(_ hit: Hit) -> JSONValue? { (try? JSONParser.parse(hit.body))?["data"] }

        @Test(arguments: kinds)
        func outOfOrderReceiptsReachAnAdvancingOnlyRouteInOrder(kind: String) async throws {
            try await Receiver.with { receiver in
                try await Self.withRelays(Self.yaml(receiver: receiver.url), store: try await Self.storeYAML(kind)) { relays in
                _ = try await relays.start()
                let url = relays.webhookURL("eightxeight")
                let umid = UUID().uuidString.lowercased()
                for (state, detail) in [("queued", nil), ("read", nil), ("delivered", "delivered_to_recipient"), ("delivered", "delivered_to_recipient")] {
                    let reply = try await Self.send(url, umid, state, detail)
                    #expect(reply.status == 200)
                }
                #expect(await eventually(timeout: .seconds(10)) { receiver.hits.filter { $0.path.hasSuffix("/plain") }.count >= 3 })
                // The last two deliveries (and anything extra) would have come by now.
                #expect(await eventually(timeout: .seconds(5)) { receiver.hits.filter { $0.path.hasSuffix("/adv") }.count >= 2 })
                let plain = receiver.hits.filter { $0.path.hasSuffix("/plain") }
                let adv = receiver.hits.filter { $0.path.hasSuffix("/adv") }
                #expect(plain.count == 3, "the duplicate is a duplicate")
                // Both advancing events may be attempted at once (concurrency 8), so they may arrive in either order.
                #expect(adv.compactMap { Self.data($0)?["status"]?.stringValue }.sorted() == ["queued", "read"])
                #expect(adv.allSatisfy { Self.data($0)?["progress"]?["advanced"] == .bool(true) })
                let progressByStatus = Dictionary(uniqueKeysWithValues: plain.compactMap { hit in
                    Self.data(hit).flatMap { data in data["status"]?.stringValue.map { ($0, data["progress"]) } }
                })
                #expect(progressByStatus["delivered"] == MessageProgress(advanced: false, previous: "read").json)
                #expect(progressByStatus["read"] == MessageProgress(advanced: true, previous: "queued").json)

                // The lookups show every event, advanced or not.
                let admin = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/messages/eightxeight/\(umid)"))
                #expect(admin.status == 200)
                let message = try JSONParser.parse(Array(admin.body.utf8))
                #expect(message["status"]?.stringValue == "read" && message["overdue"] == .bool(false))
                #expect(message["channels"]?["whatsapp"]?.stringValue == "read")
                #expect(message["history"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["queued", "read", "delivered"])
                #expect(message["history"]?.arrayValue?.compactMap { $0["advanced"]?.boolValue } == [true, true, false])
                let cli = try await runRelayCommand(["messages", "show", umid, "--config", relays.configPath, "--json"])
                #expect(cli.status == 0, "\(cli.stderr)")
                #expect(try JSONParser.parse(cli.stdout) == message)
                let table = try await runRelayCommand(["messages", "show", umid, "--config", relays.configPath])
                #expect(table.stdout.contains("read") && table.stdout.contains("ADVANCED"))

                let unknown = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/messages/eightxeight/no-such-message"))
                #expect(unknown.status == 404 && unknown.body.contains("unknown_message"))
                let missing = try await runRelayCommand(["messages", "show", "no-such-message", "--config", relays.configPath])
                #expect(missing.status == 1)
                #expect(missing.stderr.trimmingCharacters(in: .newlines) == "relay: no message \"no-such-message\" in the ledger")
                }
            }
        }

        @Test(arguments: kinds)
        func aMessageWithNoReceiptIsOverdueOnceAfterItsWait(kind: String) async throws {
            try await Receiver.with { receiver in
                try await Self.withRelays(Self.yaml(receiver: receiver.url, expectReceipt: "2s"), store: try await Self.storeYAML(kind)) { relays in
                _ = try await relays.start()
                let url = relays.webhookURL("eightxeight")
                let late = UUID().uuidString.lowercased(), fine = UUID().uuidString.lowercased()
                let sentAt = ContinuousClock.now
                #expect(try await Self.send(url, late, "sent").status == 200)
                #expect(try await Self.send(url, fine, "sent").status == 200)
                #expect(try await Self.send(url, fine, "delivered").status == 200)
                let overdue = { receiver.hits.filter { $0.path.hasSuffix("/plain") && Self.data($0)?["status"]?.stringValue == "overdue" } }
                #expect(await eventually(timeout: .seconds(10)) { !overdue().isEmpty })
                let first = try #require(overdue().first)
                let after = first.arrivedAt - sentAt
                print("overdue arrived \(after) after the receipt (expect_receipt 2s)")
                #expect(after >= .seconds(2) && after < .seconds(4), "\(after)")
                let event = try JSONParser.parse(first.body)
                #expect(event["id"]?.stringValue == "\(late):overdue" && event["type"]?.stringValue == "delivery.overdue")
                #expect(event["data"]?["message"]?["id"]?.stringValue == late && event["data"]?["expected_within_seconds"] == .integer(2))
                #expect(event["data"]?["progress"] == MessageProgress(advanced: false, previous: "sent").json)
                // Not again, and none for the message that got its receipt in time; stale for the advancing route.
                try await Task.sleep(for: .seconds(2))
                #expect(overdue().count == 1)
                #expect(!receiver.hits.contains { $0.path.hasSuffix("/adv") && Self.data($0)?["status"]?.stringValue == "overdue" })
                let message = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/messages/eightxeight/\(late)"))
                #expect(try JSONParser.parse(Array(message.body.utf8))["overdue"] == .bool(true))
                // A receipt after the deadline still advances the message.
                #expect(try await Self.send(url, late, "delivered").status == 200)
                #expect(await eventually(timeout: .seconds(10)) {
                    receiver.hits.contains { $0.path.hasSuffix("/adv") && Self.data($0)?["status"]?.stringValue == "delivered" }
                })
                }
            }
        }

        @Test func theOverdueEventIsEmittedOnceAcrossAKillAndRestart() async throws {
            try await Receiver.with { receiver in
                try await Self.withRelays(Self.yaml(receiver: receiver.url, expectReceipt: "2s")) { relays in
                var process = try await relays.start()
                let umids = (0..<5).map { _ in UUID().uuidString.lowercased() }
                for umid in umids { #expect(try await Self.send(relays.webhookURL("eightxeight"), umid, "sent").status == 200) }
                // Killed between the receipts and their deadline: the deadlines are on disk.
                kill(process.processIdentifier, SIGKILL)
                _ = await relays.waitForExit(process, timeout: .seconds(5))
                process = try await relays.start()
                let overdue = { receiver.hits.filter { $0.path.hasSuffix("/plain") && Self.data($0)?["status"]?.stringValue == "overdue" } }
                #expect(await eventually(timeout: .seconds(15)) { overdue().count >= 5 })
                // Killed again once they were emitted, and restarted: nothing is emitted twice.
                kill(process.processIdentifier, SIGKILL)
                _ = await relays.waitForExit(process, timeout: .seconds(5))
                _ = try await relays.start()
                try await Task.sleep(for: .seconds(2))
                #expect(overdue().count == 5)
                #expect(Set(overdue().compactMap { (try? JSONParser.parse($0.body))?["id"]?.stringValue }) == Set(umids.map { "\($0):overdue" }))
                }
            }
        }

        @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
        func twoInstancesEmitEachOverdueOnce() async throws {
            try await Receiver.with { receiver in
                try await Self.withRelays(Self.yaml(receiver: receiver.url, expectReceipt: "2s"), store: try await Self.storeYAML("postgres")) { relays in
                _ = try await relays.start()
                let second = try RelayProcesses.Ports.free()
                _ = try await relays.start(ports: second)
                let umids = (0..<20).map { _ in UUID().uuidString.lowercased() }
                for (index, umid) in umids.enumerated() {
                    let url = index.isMultiple(of: 2) ? relays.webhookURL("eightxeight") : second.webhookURL("eightxeight")
                    #expect(try await Self.send(url, umid, "queued").status == 200)
                }
                let overdue = { receiver.hits.filter { $0.path.hasSuffix("/plain") && Self.data($0)?["status"]?.stringValue == "overdue" } }
                #expect(await eventually(timeout: .seconds(15)) { overdue().count >= 20 })
                try await Task.sleep(for: .seconds(2))
                #expect(overdue().count == 20)
                #expect(Set(overdue().compactMap { (try? JSONParser.parse($0.body))?["id"]?.stringValue }).count == 20)
                }
            }
        }
    }
}
