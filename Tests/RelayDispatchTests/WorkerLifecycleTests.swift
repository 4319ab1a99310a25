import Foundation
import RelayCore
@testable import RelayDispatch
import RelayStore
import Testing

extension DeliveryEngine {
    /// The dispatcher's workers are children of its `run()`: a reload that removes a destination ends its worker, one
    /// that adds it back starts one, never two at once; a graceful shutdown gives hanging attempts `shutdownGrace`.
    @Suite struct WorkerLifecycle {
        static let secret = "line-lifecycle-secret"

        /// Destination `a` always, and `b` (concurrency 1) when `withB`; every event goes to each configured one.
        static func yaml(a: String, b: String, withB: Bool) -> String {
            // Twenty retries 300 ms apart: `b`'s failing job stays pending through the test.
            let retry = "[" + Array(repeating: "300ms", count: 20).joined(separator: ", ") + "]"
            let destinationB = """

                  b:
                    url: \(b)
                    format: canonical
                    concurrency: 1
                """
            return """
                retry: \(retry)
                sources:
                  line:
                    provider: line
                    channel_secret: \(secret)
                destinations:
                  a:
                    url: \(a)
                    format: canonical\(withB ? destinationB : "")
                routes:
                  - to: [\(withB ? "a, b" : "a")]
                """
        }

        /// What a SIGHUP puts in force.
        static func reload(_ engine: Engine, yaml: String) throws {
            engine.config.replace(with: try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: [:]))
        }

        @Test func reloadThatRemovesADestinationEndsItsWorkerAndAddingItBackStartsOne() async throws {
            try await Receiver.with { a in
                try await Receiver.with({ _ in .status(.serviceUnavailable) }) { b in
                    let full = Self.yaml(a: a.url, b: b.url, withB: true)
                    try await Engine.with(yaml: full) { engine in
                        #expect(await eventually { engine.dispatcher.workerCount == 2 })
                        #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: Self.secret).status == 200)
                        // `b` fails and retries every 300 ms until it is removed.
                        #expect(await eventually { b.count >= 2 && a.count == 1 })

                        try Self.reload(engine, yaml: Self.yaml(a: a.url, b: b.url, withB: false))
                        #expect(await eventually { engine.dispatcher.workerCount == 1 }, "the removed destination's worker still runs")
                        let attemptsToB = b.count
                        #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: Self.secret).status == 200)
                        #expect(await eventually { a.count == 2 })
                        // No waiting on a condition can show that nothing happens: three retry intervals of quiet.
                        try await Task.sleep(for: .milliseconds(900))
                        #expect(b.count == attemptsToB, "attempts reached a removed destination")
                        #expect(await eventually { try await engine.stats("b").pending == 1 }, "the removed destination's job stays pending")

                        b.respond { _ in .ok }
                        try Self.reload(engine, yaml: full)
                        #expect(await eventually { engine.dispatcher.workerCount == 2 }, "adding the destination back started no worker")
                        #expect(await eventually { try await engine.stats("b").delivered == 1 }, "the destination added back got nothing")
                    }
                }
            }
        }

        /// Removed while an attempt to it is under way and added back at once: the new worker starts only when the old
        /// one has ended, so concurrency 1 holds across the reloads.
        @Test func destinationRemovedAndAddedBackNeverHasTwoWorkers() async throws {
            try await Receiver.with { a in
                try await Receiver.with({ hit in hit.index == 0 ? Reply(delay: .seconds(3)) : .ok }) { b in
                    let full = Self.yaml(a: a.url, b: b.url, withB: true)
                    try await Engine.with(yaml: full) { engine in
                        let ids = (0..<3).map { _ in LINE.eventID() }
                        #expect(try await engine.postLINE(LINE.body(ids.map { LINE.deliveryEvent(id: $0) }), secret: Self.secret).status == 200)
                        // One attempt under way (held 3 s), two more claimed behind it.
                        #expect(await eventually {
                            let inFlight = try await engine.stats("b").inFlight
                            return b.count == 1 && inFlight == 3
                        })

                        try Self.reload(engine, yaml: Self.yaml(a: a.url, b: b.url, withB: false))
                        // The old worker has seen the removal once it hands its unstarted jobs back.
                        #expect(await eventually { try await engine.stats("b").inFlight == 1 }, "the unstarted jobs were not released")
                        try Self.reload(engine, yaml: full)
                        #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("b").delivered == 3 })
                        #expect(b.peakConcurrency == 1, "two workers sent to one destination at once")
                        #expect(b.count == 3, "no attempt was repeated")
                    }
                }
            }
        }

        /// An attempt that hangs past `shutdownGrace` is cancelled: the shutdown ends within the grace period and a
        /// bound, and the job stays pending on disk.
        @Test func gracefulShutdownCancelsAHangingAttemptAfterTheGracePeriod() async throws {
            let grace = Duration.milliseconds(300)
            try await Receiver.with({ _ in Reply(delay: .seconds(30)) }) { receiver in
                let yaml = lineToCRMYAML(secret: Self.secret, receiver: receiver.url, retry: "[1s]", destinationExtra: "timeout: 20s")
                let engine = try await Engine.start(yaml: yaml, shutdownGrace: grace)
                #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: Self.secret).status == 200)
                #expect(await eventually { receiver.count == 1 })
                let started = ContinuousClock.now
                await engine.stopKeepingFiles()
                let took = ContinuousClock.now - started
                let crm = try await SQLiteStore(path: engine.directory.file("relay.db")).serving { reopened async throws in
                    try #require(try await reopened.stats(nowMilliseconds: Timestamp.nowMilliseconds()).destinations.first { $0.destination == "crm" })
                }
                engine.directory.remove()
                #expect(took >= grace, "the attempt was cancelled before its grace period was over (\(took))")
                #expect(took < grace + .seconds(2), "the shutdown took \(took)")
                #expect(crm.pending == 1 && crm.inFlight == 0 && crm.delivered == 0 && crm.dead == 0, "crm: \(crm)")
            }
        }
    }
}
