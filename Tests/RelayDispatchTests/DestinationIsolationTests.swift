import Foundation
import RelayCore
import Testing

extension DeliveryEngine {
    /// One stuck destination never delays another (SPEC 7): the healthy one gets all its events promptly
    /// while every attempt to the other hangs until its timeout.
    @Suite struct DestinationIsolation {
        static let secret = "line-isolation-secret"

        static func yaml(healthy: String, stuck: String) -> String {
            """
            retry: [100ms, 200ms, 400ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
            destinations:
              healthy:
                url: \(healthy)
                format: canonical
              stuck:
                url: \(stuck)
                format: canonical
                timeout: 2s
                concurrency: 8
            routes:
              - to: [healthy, stuck]
            """
        }

        /// Sends `count` events for both destinations and checks the healthy one's timing.
        static func check(engine: Engine, count: Int, healthy: @escaping @Sendable () -> [Hit], stuckHits: @escaping @Sendable () -> Int) async throws {
            var ids: [String] = []
            var lastAck = ContinuousClock.now
            for _ in 0..<count {
                let id = LINE.eventID()
                ids.append(id)
                #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: id)]), secret: secret).status == 200)
                lastAck = ContinuousClock.now
            }
            let allArrived = await eventually(timeout: .seconds(3)) { healthy().count >= count }
            #expect(allArrived, "the healthy destination got \(healthy().count) of \(count)")
            let hits = healthy()
            #expect(Set(hits.compactMap { $0.header("webhook-id") }) == Set(ids))
            if let last = hits.map(\.arrivedAt).max() {
                let lag = milliseconds(from: lastAck, to: last)
                print("isolation: healthy destination had all \(count) events \(Int(lag)) ms after the last ack")
                #expect(lag < 1_000, "the healthy destination was held up: last event \(lag) ms after the last ack")
            }
            // The other destination really is stuck: attempts reached it, none has finished.
            #expect(await eventually(timeout: .seconds(1)) { stuckHits() >= 1 })
            let stuck = try await engine.stats("stuck")
            #expect(stuck.inFlight >= 1 && stuck.delivered == 0, "stuck: \(stuck)")
            // Outcomes are committed a moment after their responses arrive (see `OutcomeRecorder`).
            let recorded = await eventually(timeout: .seconds(2)) {
                guard let ok = try? await engine.stats("healthy") else { return false }
                return ok.delivered == count && ok.pending == 0 && ok.inFlight == 0
            }
            let ok = try await engine.stats("healthy")
            #expect(recorded, "healthy: \(ok)")
        }

        @Test func stuckDestinationOnAnotherHostDoesNotDelayTheHealthyOne() async throws {
            try await Receiver.with { healthy in
                try await Receiver.with({ _ in Reply(delay: .seconds(30)) }) { stuck in
                    try await Engine.with(yaml: Self.yaml(healthy: healthy.url, stuck: stuck.url), shutdownGrace: .milliseconds(300)) { engine in
                        try await Self.check(engine: engine, count: 20, healthy: { healthy.hits }, stuckHits: { stuck.count })
                    }
                }
            }
        }

        /// Two destinations on one backend (different paths): the HTTP client's per-host connection pool must
        /// not let the stuck one take every connection.
        @Test func stuckDestinationOnTheSameHostDoesNotDelayTheHealthyOne() async throws {
            let reply: @Sendable (Hit) -> Reply = { hit in hit.path.hasSuffix("/slow") ? Reply(delay: .seconds(30)) : .ok }
            try await Receiver.with(reply) { receiver in
                let base = "http://127.0.0.1:\(receiver.port)"
                try await Engine.with(yaml: Self.yaml(healthy: base + "/fast", stuck: base + "/slow"), shutdownGrace: .milliseconds(300)) { engine in
                    try await Self.check(
                        engine: engine, count: 20, healthy: { receiver.hits.filter { $0.path == "/fast" } },
                        stuckHits: { receiver.hits.filter { $0.path == "/slow" }.count })
                }
            }
        }
    }
}
