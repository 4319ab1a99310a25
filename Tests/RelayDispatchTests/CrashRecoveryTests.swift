import Foundation
import RelayCore
import Synchronization
import Testing

extension DeliveryEngine {
    /// Real `relay serve` processes killed mid-traffic: nothing acknowledged is lost (SPEC 1), SIGTERM exits 0
    /// after letting attempts end (SPEC 8), and a restart delivers what was left on disk.
    @Suite struct CrashRecovery {
        static let secret = "line-crash-channel-secret"
        static let events = 300
        static let stopAfterAcks = 150

        static func yamlBody(receiver: String) -> String {
            // Jobs the killed relay held are claimed again once their claim lapses: timeout 2s + lease 1s.
            lineToCRMYAML(secret: secret, receiver: receiver, retry: "[100ms, 200ms, 400ms, 800ms]", destinationExtra: "format: canonical\n    timeout: 2s")
        }

        /// A receiver that takes 100 ms per request, so attempts are in flight when the relay dies.
        static func withSetup(_ body: (Receiver, RelayProcesses) async throws -> Void) async throws {
            _ = try RelayProcesses.executable()
            try await Receiver.with({ _ in Reply(delay: .milliseconds(100)) }) { receiver in
                let relays = try RelayProcesses(yamlBody: Self.yamlBody(receiver: receiver.url), lease: "1s")
                do {
                    try await body(receiver, relays)
                    await relays.cleanUp()
                } catch {
                    print("relay log:\n\(relays.logTail())")
                    await relays.cleanUp()
                    throw error
                }
            }
        }

        static func distinctIDs(_ receiver: Receiver) -> Set<String> {
            Set(receiver.hits.compactMap { $0.header("webhook-id") })
        }

        /// Restarts the relay, waits until every acknowledged event has arrived, prints the figures, stops it.
        /// Restarts the relay, waits until every acknowledged event has arrived and the relay has nothing left to
        /// send, prints the figures, stops it; returns the duplicates received.
        @discardableResult
        static func restartAndCheck(_ receiver: Receiver, _ relays: RelayProcesses, traffic: LINETraffic, label: String) async throws -> Int {
            let restarted = try await relays.start()
            let acked = Set(traffic.acked)
            let delivered = await eventually(timeout: .seconds(30), poll: .milliseconds(50)) { acked.isSubset(of: distinctIDs(receiver)) }
            // Jobs requeued from the crash are due last (after older pending ones): wait for the store to drain.
            let drained = await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
                guard let reply = await get("http://127.0.0.1:\(relays.adminPort)/admin/stats"), reply.status == 200,
                      let crm = try JSONParser.parse(Array(reply.body.utf8))["destinations"]?.arrayValue?.first else { return false }
                return crm["pending"]?.int64Value == 0 && crm["in_flight"]?.int64Value == 0 && crm["dead"]?.int64Value == 0
            }
            let distinct = distinctIDs(receiver)
            let duplicates = receiver.count - distinct.count
            print("\(label): sent \(traffic.sent), acked \(acked.count), received distinct \(distinct.count), duplicates received \(duplicates)")
            #expect(delivered, "\(acked.subtracting(distinct).count) acknowledged events never arrived")
            #expect(drained, "the restarted relay did not finish its backlog")
            #expect(distinct.isSubset(of: Set(traffic.ids)), "the receiver got an event nobody sent")

            kill(restarted.processIdentifier, SIGTERM)
            let exit = await relays.waitForExit(restarted, timeout: .seconds(10))
            #expect(exit?.reason == .exit && exit?.status == 0, "restarted relay: \(String(describing: exit))")
            return duplicates
        }

        @Test func killNineMidTrafficLosesNoAcknowledgedEvent() async throws {
            try await Self.withSetup { receiver, relays in
                let relay = try await relays.start()
                let traffic = LINETraffic(count: Self.events)
                let atKill = Mutex<(acked: Int, received: Int)?>(nil)
                await traffic.run(url: relays.webhookURL("line"), secret: Self.secret, senders: 4) { acked in
                    guard acked == Self.stopAfterAcks else { return }
                    traffic.stop()
                    kill(relay.processIdentifier, SIGKILL)
                    atKill.withLock { $0 = (acked, Self.distinctIDs(receiver).count) }
                }
                let exit = await relays.waitForExit(relay, timeout: .seconds(5))
                #expect(exit?.reason == .uncaughtSignal && exit?.status == SIGKILL, "\(String(describing: exit))")
                let moment = try #require(atKill.withLock { $0 })
                #expect(traffic.sent < Self.events, "the kill came after all traffic")

                // What the dead process left on disk: work pending and attempts cut off mid-flight.
                let crm = try #require(try await relays.storeStats().destinations.first { $0.destination == "crm" })
                print("kill -9: at the kill \(moment.acked) acked, \(moment.received) received; on disk after: "
                    + "pending \(crm.pending), in flight \(crm.inFlight), delivered \(crm.delivered)")
                #expect(moment.received < moment.acked, "nothing was outstanding at the kill")
                #expect(crm.inFlight > 0, "no attempt was in flight at the kill")

                let duplicates = try await Self.restartAndCheck(receiver, relays, traffic: traffic, label: "kill -9")
                // Only attempts cut off by the kill may arrive twice.
                #expect(duplicates <= crm.inFlight, "\(duplicates) duplicates, but only \(crm.inFlight) attempts were in flight")
            }
        }

        @Test func sigtermMidTrafficExitsCleanlyAndLosesNothing() async throws {
            try await Self.withSetup { receiver, relays in
                let relay = try await relays.start()
                let traffic = LINETraffic(count: Self.events)
                let signalled = Mutex<ContinuousClock.Instant?>(nil)
                // Traffic goes on after the signal: the relay must stop taking it and exit anyway.
                let watch = Task {
                    guard await eventually(timeout: .seconds(20), poll: .milliseconds(5), { signalled.withLock { $0 } != nil }) else { return nil as Double? }
                    _ = await relays.waitForExit(relay, timeout: .seconds(8))
                    traffic.stop()
                    return relay.isRunning ? nil : milliseconds(from: signalled.withLock { $0 }!, to: .now)
                }
                await traffic.run(url: relays.webhookURL("line"), secret: Self.secret, senders: 4) { acked in
                    guard acked == Self.stopAfterAcks else { return }
                    kill(relay.processIdentifier, SIGTERM)
                    signalled.withLock { $0 = .now }
                }
                let measured = await watch.value
                let exit = await relays.waitForExit(relay, timeout: .seconds(1))
                let took = measured ?? .infinity
                #expect(exit?.reason == .exit && exit?.status == 0, "after SIGTERM: \(String(describing: exit))")
                #expect(took < 5_000, "SIGTERM took \(took) ms to exit")

                // Attempts under way were let finish and recorded; the rest waits on disk.
                let crm = try #require(try await relays.storeStats().destinations.first { $0.destination == "crm" })
                print("sigterm: exited in \(Int(took)) ms; on disk after: pending \(crm.pending), in flight \(crm.inFlight), delivered \(crm.delivered)")
                #expect(crm.inFlight == 0, "attempts were left in flight by a graceful stop")

                let duplicates = try await Self.restartAndCheck(receiver, relays, traffic: traffic, label: "sigterm")
                #expect(duplicates == 0, "a graceful stop let attempts finish, so nothing is sent twice")
            }
        }
    }
}
