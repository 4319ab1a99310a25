import Foundation
import RelayCore
import RelayStore
import Testing

extension DeliveryEngine {
    /// A destination's `concurrency` is both used and respected: exactly that many attempts at once, more as slots free.
    @Suite struct ConcurrencyLimit {
        static let secret = "line-concurrency-secret"

        static func yaml(receiver: String, concurrency: Int) -> String {
            lineToCRMYAML(secret: secret, receiver: receiver, retry: "[100ms]", destinationExtra: "concurrency: \(concurrency)")
        }

        @Test(arguments: [1, 3, 8])
        func attemptsInFlightNeverExceedTheDestinationConcurrency(concurrency: Int) async throws {
            let hold = Duration.milliseconds(150)
            let count = 2 * concurrency + 2
            try await Receiver.with({ _ in Reply(delay: hold) }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, concurrency: concurrency)) { engine in
                    let ids = (0..<count).map { _ in LINE.eventID() }
                    // One request, many events: all jobs are due at once.
                    let reply = try await engine.postLINE(LINE.body(ids.map { LINE.deliveryEvent(id: $0) }), secret: Self.secret)
                    #expect(reply.status == 200)
                    #expect(await eventually(timeout: .seconds(5)) { try await engine.stats("crm").delivered == count })

                    let hits = receiver.hits
                    #expect(Set(hits.compactMap { $0.header("webhook-id") }) == Set(ids))
                    #expect(hits.count == count, "no attempt was repeated")
                    #expect(receiver.peakConcurrency == concurrency, "peak \(receiver.peakConcurrency) at once, concurrency \(concurrency)")
                    // ceil(count / concurrency) rounds of 150 ms each, the first starting at the first arrival.
                    let rounds = (count + concurrency - 1) / concurrency
                    let first = try #require(hits.map(\.arrivedAt).min())
                    let last = try #require(hits.map(\.arrivedAt).max())
                    let spread = milliseconds(from: first, to: last)
                    #expect(spread >= Double(rounds - 1) * 150 - 5, "\(count) attempts at concurrency \(concurrency) within \(spread) ms")
                    // Slots are refilled as attempts finish, not at the next poll.
                    #expect(spread < Double(rounds - 1) * 150 + 400, "slots were refilled slowly: \(spread) ms")
                }
            }
        }

        /// Jobs are claimed ahead of free slots; a graceful stop hands the unstarted ones back, so nothing is left in
        /// flight on disk and the attempts under way finish and are recorded.
        @Test func gracefulStopReleasesTheClaimedReserve() async throws {
            let count = 40
            try await Receiver.with({ _ in Reply(delay: .milliseconds(300)) }) { receiver in
                let engine = try await Engine.start(yaml: Self.yaml(receiver: receiver.url, concurrency: 2))
                let ids = (0..<count).map { _ in LINE.eventID() }
                #expect(try await engine.postLINE(LINE.body(ids.map { LINE.deliveryEvent(id: $0) }), secret: Self.secret).status == 200)
                // Two attempts under way and the reserve claimed behind them.
                #expect(await eventually(timeout: .seconds(5)) {
                    let inFlight = try await engine.stats("crm").inFlight
                    return receiver.hits.count >= 2 && inFlight > 2
                })
                await engine.stopKeepingFiles()
                let crm = try await SQLiteStore(path: engine.directory.file("relay.db")).serving { reopened async throws in
                    try #require(try await reopened.stats(nowMilliseconds: Timestamp.nowMilliseconds()).destinations.first { $0.destination == "crm" })
                }
                engine.directory.remove()
                #expect(crm.inFlight == 0, "a graceful stop left \(crm.inFlight) jobs in flight")
                #expect(crm.delivered == receiver.hits.count, "every attempt that reached the receiver was recorded")
                #expect(crm.delivered >= 2)
                #expect(crm.pending + crm.delivered == count)
            }
        }
    }
}
