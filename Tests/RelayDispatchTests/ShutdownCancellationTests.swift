import Foundation
import RelayCore
import RelayStore
import Testing

extension DeliveryEngine {
    /// An attempt still under way when the shutdown grace ends is cancelled by relay itself: that is not an attempt of
    /// the job's schedule (issue 24). Before, the cancellation counted as a failure, and a job on its last attempt
    /// became a dead letter with `HTTPClientError.cancelled`.
    @Suite struct ShutdownCancellation {
        static let secret = "line-shutdown-secret"

        @Test func anAttemptCutOffByShutdownLeavesItsJobPendingWithItsCountUnchanged() async throws {
            // The first attempt fails at once; the second (the last of the schedule) hangs past the grace period.
            try await Receiver.with({ hit in hit.index == 0 ? .status(.serviceUnavailable) : Reply(delay: .seconds(30)) }) { receiver in
                let yaml = """
                    sources:
                      line:
                        provider: line
                        channel_secret: \(Self.secret)
                    destinations:
                      crm:
                        url: \(receiver.url)
                        breaker: off
                        retry: [100ms]
                    routes:
                      - to: [crm]
                    """
                let engine = try await Engine.start(yaml: yaml, shutdownGrace: .milliseconds(300))
                do {
                    let id = LINE.eventID()
                    #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: id)]), secret: Self.secret).status == 200)
                    #expect(await eventually(timeout: .seconds(5)) { receiver.count == 2 }, "the last attempt never started")
                    await engine.stopKeepingFiles()
                    let store = try SQLiteStore(path: engine.directory.file("relay.db"))
                    try await store.serving {
                        let crm = try #require(try await store.stats(nowMilliseconds: Timestamp.nowMilliseconds()).destinations.first { $0.destination == "crm" })
                        #expect(crm.dead == 0 && crm.pending == 1 && crm.inFlight == 0, "\(crm)")
                        #expect(try await store.deadLetters(destination: nil, limit: 10).isEmpty)
                        // One attempt counted (the 503), not the one cut off.
                        #expect(try await store.event(sourceID: "line", eventID: id)?.jobs.first?.attempts == 1)
                    }
                    engine.directory.remove()
                } catch {
                    await engine.stop()
                    throw error
                }
            }
        }
    }
}
