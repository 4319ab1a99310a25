import Foundation
import RelayCore
import Testing

extension DeliveryEngine {
    /// A real `relay serve` process operated as an operator would (SPEC 8): SIGHUP reloads, `/metrics` counts,
    /// and the JSON logs never carry a secret or an unmasked phone number.
    @Suite struct Operations {
        static let secret = "ops-line-secret-#:not-in-logs"
        static let password = "ops-8x8-password-not-in-logs"
        static let signingSecret = "whsec_" + Data("ops-signing-key-not-in-logs".utf8).base64EncodedString()
        static let adminToken = "ops-admin-token-not-in-logs"

        static func yamlBody(destination: String, extraRoute: String = "") -> String {
            """
            retry: [100ms, 200ms]
            sources:
              line:
                provider: line
                channel_secret: ${OPS_LINE_SECRET}
              eightxeight:
                provider: 8x8
                auth:
                  basic:
                    username: relay
                    password: ${OPS_8X8_PASSWORD}
            destinations:
              crm:
                url: \(destination)
                format: canonical
                secret: ${OPS_SIGNING_SECRET}
                breaker: off                  # the plain schedule: a failing destination makes dead letters
            routes:
              - to: [crm]
            \(extraRoute)
            """
        }

        static let environment = [
            "OPS_LINE_SECRET": secret, "OPS_8X8_PASSWORD": password, "OPS_SIGNING_SECRET": signingSecret,
            "RELAY_ADMIN_TOKEN": adminToken,
        ]

        static func sendLINE(_ relays: RelayProcesses, id: String = LINE.eventID(), secret: String = secret) async throws -> HTTPReply {
            let body = LINE.body([LINE.deliveryEvent(id: id)])
            return try await post(relays.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: secret))])
        }

        static func with(_ body: (Receiver, Receiver, RelayProcesses) async throws -> Void) async throws {
            _ = try RelayProcesses.executable()
            try await Receiver.with { first in
                try await Receiver.with { second in
                    let relays = try RelayProcesses(yamlBody: yamlBody(destination: first.url))
                    do {
                        try await body(first, second, relays)
                        await relays.cleanUp()
                    } catch {
                        print("relay log:\n\(relays.logTail())")
                        await relays.cleanUp()
                        throw error
                    }
                }
            }
        }

        @Test func sighupAppliesAValidFileAndKeepsTheOldOneOnAnInvalidFile() async throws {
            try await Self.with { first, second, relays in
                let relay = try await relays.start(logLevel: "info", environment: Self.environment)
                #expect(try await Self.sendLINE(relays).status == 200)
                #expect(await eventually { first.count == 1 })

                // A valid file: new jobs go to the new URL.
                try relays.writeConfig(Self.yamlBody(destination: second.url))
                kill(relay.processIdentifier, SIGHUP)
                #expect(await eventually { relays.logTail(200).contains("config reloaded") }, "no reload in the log")
                #expect(try await Self.sendLINE(relays).status == 200)
                #expect(await eventually { second.count == 1 }, "the reloaded destination got nothing")
                #expect(first.count == 1)

                // An invalid file: rejected with its errors logged, the old config keeps serving.
                try relays.writeConfig(Self.yamlBody(destination: first.url) + "\nbogus_key: 1\n")
                kill(relay.processIdentifier, SIGHUP)
                #expect(await eventually { relays.logTail(200).contains("config reload rejected") }, "no rejection in the log")
                #expect(relays.logTail(200).contains("bogus_key"), "the rejection does not name the bad key")
                #expect(try await Self.sendLINE(relays).status == 200)
                #expect(await eventually { second.count == 2 }, "the config in force changed after an invalid reload")
                #expect(first.count == 1)
                #expect(relay.isRunning)
            }
        }

        /// Known traffic, then `/metrics` parsed: each counter says exactly what happened.
        @Test func metricsCountKnownTraffic() async throws {
            try await Self.with { first, _, relays in
                _ = try await relays.start(environment: Self.environment)
                let ids = (0..<3).map { _ in LINE.eventID() }
                for id in ids { #expect(try await Self.sendLINE(relays, id: id).status == 200) }
                #expect(try await Self.sendLINE(relays, id: ids[0]).status == 200)  // a duplicate
                #expect(try await Self.sendLINE(relays, secret: "wrong").status == 401)
                #expect(try await post(relays.webhookURL("no-such-source"), body: Array("{}".utf8)).status == 404)
                #expect(await eventually { first.count == 3 })

                var metrics: [String: Double] = [:]
                let complete = await eventually(timeout: .seconds(15), poll: .milliseconds(200)) {
                    guard let reply = await get("http://127.0.0.1:\(relays.adminPort)/metrics"), reply.status == 200 else { return false }
                    metrics = Self.parse(reply.body)
                    return metrics[#"relay_delivery_attempts_total{destination="crm",outcome="delivered"}"#] == 3
                        && metrics[#"relay_jobs{destination="crm",state="pending"}"#] == 0
                        && metrics["relay_dedup_keys"] == 3  // gauges are published every 5 s
                }
                #expect(complete, "metrics never showed the deliveries: \(metrics)")
                #expect(metrics[#"relay_ingest_requests_total{source="line",status="200"}"#] == 4)
                #expect(metrics[#"relay_ingest_requests_total{source="line",status="401"}"#] == 1)
                #expect(metrics[#"relay_ingest_requests_total{source="_unknown",status="404"}"#] == 1)
                #expect(!metrics.keys.contains { $0.contains("no-such-source") }, "an unknown id became a label")
                #expect(metrics[#"relay_events_total{source="line",outcome="accepted"}"#] == 3)
                #expect(metrics[#"relay_events_total{source="line",outcome="duplicate"}"#] == 1)
                #expect(metrics[#"relay_ack_seconds_count{source="line"}"#] == 4)
                #expect(metrics[#"relay_delivery_seconds_count{destination="crm"}"#] == 3)
                #expect(metrics["relay_dedup_keys"] == 3)
                #expect(metrics[#"relay_oldest_pending_seconds{destination="crm"}"#] == 0)
                #expect((metrics["relay_store_commits_total"] ?? 0) >= 1)

                // /metrics needs no token; /admin/* does.
                #expect(await get("http://127.0.0.1:\(relays.adminPort)/admin/stats")?.status == 401)
                #expect(await get("http://127.0.0.1:\(relays.adminPort)/admin/stats", headers: [("Authorization", "Bearer \(Self.adminToken)")])?.status == 200)
            }
        }

        /// A debug-level run through every fixture and a failing destination: the log has every kind of line
        /// relay writes, none with a secret or a phone number in clear.
        @Test func logsAreJSONAndCarryNoSecretOrPhoneNumber() async throws {
            try await Self.with { first, _, relays in
                first.respond { _ in .status(.internalServerError) }
                _ = try await relays.start(logLevel: "debug", environment: Self.environment)
                let fixtures = try FileManager.default.contentsOfDirectory(atPath: Self.fixturesDirectory("8x8")).filter { $0.hasSuffix(".json") }
                let basic = "Basic " + Data("relay:\(Self.password)".utf8).base64EncodedString()
                for name in fixtures {
                    let body = Array(try Data(contentsOf: URL(fileURLWithPath: Self.fixturesDirectory("8x8") + "/" + name)))
                    #expect(try await post(relays.webhookURL("eightxeight"), body: body, headers: [("Authorization", basic)]).status == 200)
                }
                for name in ["delivery.json", "delivery-with-tag.json"] {
                    let body = Array(try Data(contentsOf: URL(fileURLWithPath: Self.fixturesDirectory("line") + "/" + name)))
                    #expect(try await post(relays.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: Self.secret))]).status == 200)
                }
                #expect(try await Self.sendLINE(relays, secret: "wrong").status == 401)
                #expect(await eventually(timeout: .seconds(10)) { relays.logTail(400).contains("dead letter") }, "no dead letter was logged")

                let lines = relays.logTail(10_000).split(separator: "\n").map(String.init)
                #expect(lines.count > 10)
                for line in lines {
                    let json = try? JSONParser.parse(line)
                    #expect(json?["level"]?.stringValue != nil && json?["message"]?.stringValue != nil && json?["time"]?.stringValue != nil,
                            "not a JSON log line: \(line)")
                }
                let log = lines.joined(separator: "\n")
                for secret in [Self.secret, Self.password, Self.signingSecret, Self.adminToken, "ops-signing-key-not-in-logs"] {
                    #expect(!log.contains(secret), "a secret reached the log")
                }
                for phone in ["6512345678", "6505551234", "6581968289", "2025550293",
                              "68df277462529930889fab80ecffdc0883906320591df93c25efc08300410fc2"] {
                    #expect(!log.contains(phone), "\(phone) reached the log unmasked")
                }
            }
        }

        /// Prometheus text exposition: `name{labels} value` lines into a dictionary.
        static func parse(_ text: String) -> [String: Double] {
            var values: [String: Double] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                values[String(line[..<space])] = value
            }
            return values
        }

        static func fixturesDirectory(_ provider: String, file: String = #filePath) -> String {
            URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Tests/Fixtures/\(provider)").standardized.path
        }
    }
}
