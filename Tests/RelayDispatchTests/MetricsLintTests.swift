import Foundation
import RelayCore
import RelayTestSupport
import Testing

extension DeliveryEngine.Operations {
    /// Every metric family in `/metrics` of a running relay has a HELP line, and `promtool check metrics` finds
    /// nothing to say about the text (it reported "no help text" for all 12 families before).
    @Suite struct MetricsLint {
        typealias Ops = DeliveryEngine.Operations

        /// The `/metrics` text once traffic has created every family (gauges are published every 5 s).
        static func scrape(_ body: (String) async throws -> Void) async throws {
            try await Ops.with { first, _, relays in
                _ = try await relays.start(environment: Ops.environment)
                #expect(try await Ops.sendLINE(relays).status == 200)
                #expect(try await Ops.sendLINE(relays, secret: "wrong").status == 401)
                var text = ""
                let complete = await eventually(timeout: .seconds(15), poll: .milliseconds(200)) {
                    guard let reply = await get("http://127.0.0.1:\(relays.adminPort)/metrics"), reply.status == 200 else { return false }
                    text = reply.body
                    return text.contains("relay_delivery_attempts_total{") && text.contains("\nrelay_dedup_keys ")
                }
                #expect(complete, "metrics never showed the delivery and the gauges: \(text)")
                // The attempt counters exist from the worker's start: the delivery itself is waited for.
                #expect(await eventually { first.count == 1 })
                try await body(text)
            }
        }

        /// `(TYPE names, HELP names)` of `text`.
        static func families(_ text: String) -> (types: [String], helps: Set<String>) {
            let lines = text.split(separator: "\n")
            func names(_ prefix: String) -> [String] {
                lines.filter { $0.hasPrefix(prefix) }.compactMap { $0.dropFirst(prefix.count).split(separator: " ").first.map(String.init) }
            }
            return (names("# TYPE "), Set(names("# HELP ")))
        }

        @Test func everyMetricFamilyHasAHelpLine() async throws {
            try await Self.scrape { text in
                let (types, helps) = Self.families(text)
                #expect(types.count >= 12, "families: \(types)")
                #expect(types.filter { !helps.contains($0) } == [], "families without HELP")
            }
        }

        @Test(.enabled(if: OptionalTool.promtool.isAvailable, Comment(rawValue: OptionalTool.promtool.skipReason)))
        func promtoolFindsNothingToReport() async throws {
            try await Self.scrape { text in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: try #require(OptionalTool.onPath("promtool")))
                process.arguments = ["check", "metrics"]
                let input = Pipe()
                let output = Pipe()
                process.standardInput = input
                process.standardOutput = output
                process.standardError = output
                try process.run()
                input.fileHandleForWriting.write(Data(text.utf8))
                try input.fileHandleForWriting.close()
                let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "promtool: \(said)")
                #expect(said.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool: \(said)")
            }
        }
    }
}
