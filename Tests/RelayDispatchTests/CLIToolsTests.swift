import Foundation
import RelayCore
import Testing

extension DeliveryEngine {
    /// The operator's commands against a running engine's store: `stats`, `dlq list|replay` (picked up by the running
    /// dispatcher within about a second, with no wake-up), `simulate` into ingest and `sink` checking signatures.
    @Suite struct CLITools {
        static let secret = "line-cli-secret"
        static let signingSecret = "whsec_" + Data("relay-cli-sink-signing-key".utf8).base64EncodedString()

        static func yamlBody(receiver: String) -> String {
            """
            retry: [100ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
              eightxeight:
                provider: 8x8
                auth:
                  basic:
                    username: relay
                    password: cli-password
            destinations:
              crm:
                url: \(receiver)
                secret: \(signingSecret)
                breaker: off                  # dead letters of a failing destination, for the dlq commands
            routes:
              - to: [crm]
            """
        }

        /// A config file for the CLI naming the engine's own store.
        static func writeConfig(for engine: Engine, body: String) throws -> String {
            let path = engine.directory.file("routes.yaml")
            try ("store:\n  sqlite: \(engine.directory.file("relay.db"))\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        @Test func statsAndDeadLetterCommandsWorkOnARunningRelaysStore() async throws {
            _ = try RelayProcesses.executable()
            try await Receiver.with({ _ in .status(.internalServerError, body: "cli says no") }) { receiver in
                let body = Self.yamlBody(receiver: receiver.url)
                try await Engine.with(yaml: body) { engine in
                    let config = try Self.writeConfig(for: engine, body: body)
                    for _ in 0..<2 {
                        #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: Self.secret).status == 200)
                    }
                    #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").dead == 2 })

                    let stats = try await runRelayCommand(["stats", "--json", "--config", config])
                    #expect(stats.status == 0, "\(stats.stderr)")
                    let statsJSON = try JSONParser.parse(Array(stats.stdout.utf8))
                    let crm = try #require(statsJSON["destinations"]?.arrayValue?.first)
                    #expect(crm["destination"]?.stringValue == "crm" && crm["dead"]?.int64Value == 2 && crm["pending"]?.int64Value == 0)
                    #expect(statsJSON["events"]?.int64Value == 2)
                    #expect(stats.stdout.hasSuffix("}\n"), "relay stats --json does not end with a newline")
                    let table = try await runRelayCommand(["stats", "--config", config])
                    #expect(table.status == 0 && table.stdout.contains("crm"), "\(table.stderr)")
                    #expect(table.stdout.hasSuffix("dedup keys held: 2\n"), "relay stats: \(table.stdout)")

                    let list = try await runRelayCommand(["dlq", "list", "--destination", "crm", "--json", "--config", config])
                    #expect(list.status == 0, "\(list.stderr)")
                    let letters = try #require(try JSONParser.parse(Array(list.stdout.utf8)).arrayValue)
                    #expect(letters.count == 2)
                    #expect(letters.allSatisfy { $0["last_status"]?.int64Value == 500 && $0["last_response"]?.stringValue == "cli says no" })
                    let none = try await runRelayCommand(["dlq", "list", "--destination", "nowhere", "--config", config])
                    #expect(none.status == 0 && none.stdout.contains("no dead letters"))

                    // A replay by another process: the running dispatcher finds it at its next poll (about a second).
                    receiver.respond { _ in .ok }
                    let id = try #require(letters.first?["id"]?.int64Value)
                    let one = try await runRelayCommand(["dlq", "replay", "--id", String(id), "--config", config])
                    let replayedAt = ContinuousClock.now
                    #expect(one.status == 0 && one.stdout.contains("replayed 1 dead letter"), "\(one.stdout) \(one.stderr)")
                    #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").delivered == 1 })
                    let lag = milliseconds(from: replayedAt, to: try #require(receiver.hits.last).arrivedAt)
                    print("cli: a replay by the CLI was delivered \(Int(lag)) ms later")
                    #expect(lag < 1_500, "the running relay took \(lag) ms to notice the CLI's replay")

                    // Filters narrow --all: a type or a time window that matches none moves none.
                    let otherType = try await runRelayCommand(["dlq", "replay", "--all", "--type", "message.*", "--config", config])
                    #expect(otherType.status == 0 && otherType.stdout.contains("replayed 0 dead letters"), "\(otherType.stdout) \(otherType.stderr)")
                    let before = try await runRelayCommand(["dlq", "replay", "--all", "--until", "2001-01-01T00:00:00Z", "--config", config])
                    #expect(before.status == 0 && before.stdout.contains("replayed 0 dead letters"))
                    let badTime = try await runRelayCommand(["dlq", "replay", "--all", "--since", "yesterday", "--config", config])
                    #expect(badTime.status != 0 && badTime.stderr.contains("--since must be an RFC 3339 time"), "\(badTime.stderr)")
                    let rest = try await runRelayCommand(["dlq", "replay", "--all", "--type", "delivery.*", "--since", "2001-01-01T00:00:00Z", "--config", config])
                    #expect(rest.status == 0 && rest.stdout.contains("replayed 1 dead letter"))
                    #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").delivered == 2 })

                    let neither = try await runRelayCommand(["dlq", "replay", "--config", config])
                    #expect(neither.status != 0)
                    #expect(neither.stderr.contains("--all") && !neither.stderr.contains("Fatal error"))
                }
            }
        }

        @Test func simulateIntoTheEngineAndSinkVerifiesTheSignature() async throws {
            let executable = try RelayProcesses.executable()
            let directory = try TempDirectory()
            defer { directory.remove() }
            let port = try freePort()
            let log = directory.file("sink.log")
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let sink = Process()
            sink.executableURL = URL(fileURLWithPath: executable)
            sink.arguments = ["sink", "--port", String(port), "--secret", Self.signingSecret]
            sink.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            sink.standardError = sink.standardOutput
            try sink.run()
            defer { if sink.isRunning { kill(sink.processIdentifier, SIGKILL) } }
            func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
                (try? await post("http://127.0.0.1:\(port)/probe", body: Array("{}".utf8), timeout: .milliseconds(500)))?.status == 200
            }, "relay sink did not start: \(output())")

            let body = Self.yamlBody(receiver: "http://127.0.0.1:\(port)/events")
            try await Engine.with(yaml: body) { engine in
                let config = try Self.writeConfig(for: engine, body: body)
                for (sample, source) in [("line-delivery", "line"), ("8x8-delivered", "eightxeight")] {
                    let sent = try await runRelayCommand(["simulate", sample, "--config", config, "--to", engine.webhookURL(source)])
                    #expect(sent.status == 0, "\(sent.stderr)")
                    #expect(sent.stdout.hasPrefix("200 ") && sent.stdout.contains(#""accepted":1"#), "simulate \(sample): \(sent.stdout)")
                }
                let verified = await eventually(timeout: .seconds(5), poll: .milliseconds(50)) {
                    output().components(separatedBy: "signature OK").count - 1 == 2
                }
                #expect(verified, "sink output:\n\(output())")
                #expect(!output().contains("INVALID"))
                // Outcomes are committed a moment after the sink has answered: waited for, not read at once.
                #expect(await eventually { try await engine.stats("crm").delivered == 2 })
            }
            kill(sink.processIdentifier, SIGTERM)
            #expect(await eventually(timeout: .seconds(5)) { !sink.isRunning })
        }
    }
}
