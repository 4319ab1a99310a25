import Foundation
import HTTPTypes
import RelayCore
import RelayStore
import Testing

extension DeliveryEngine {
    /// The retry schedule as a receiver sees it: exact offsets, Retry-After, dead letters, replay, and the job
    /// counts at every stage.
    @Suite struct RetrySchedule {
        static let secret = "line-retry-secret"

        static func yaml(receiver: String, retry: String = "[100ms, 200ms, 400ms]") -> String {
            // The plain schedule (SPEC section 7): with a circuit, a destination failing every attempt makes no dead letters.
            lineToCRMYAML(secret: secret, receiver: receiver, retry: retry, destinationExtra: "format: canonical\n    breaker: off")
        }

        @Test func failingReceiverGetsExactlyFourAttemptsOnScheduleThenDeadLetterAndReplay() async throws {
            try await Receiver.with({ _ in .status(.internalServerError, body: "upstream exploded") }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url)) { engine in
                    let id = LINE.eventID()
                    #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: id)]), secret: Self.secret).status == 200)
                    #expect(await eventually(timeout: .seconds(4)) { try await engine.stats("crm").dead == 1 })

                    let hits = receiver.hits
                    #expect(hits.count == 4, "expected 4 attempts, got \(hits.count)")
                    #expect(hits.allSatisfy { $0.header("webhook-id") == id })
                    let start = try #require(hits.first).arrivedAt
                    let offsets = hits.map { milliseconds(from: start, to: $0.arrivedAt) }
                    print("retry: attempt offsets ms \(offsets.map { Int($0) }) (schedule 0, 100, 300, 700)")
                    for (offset, expected) in zip(offsets, [0.0, 100, 300, 700]) {
                        #expect(abs(offset - expected) <= 80, "attempt at \(offset) ms, expected about \(expected) ms")
                    }
                    // Never early: each gap is at least its configured delay.
                    for (gap, delay) in zip(zip(offsets.dropFirst(), offsets).map { $0 - $1 }, [100.0, 200, 400]) {
                        #expect(gap >= delay - 2, "gap \(gap) ms is shorter than the configured \(delay) ms")
                    }

                    let stats = try await engine.stats("crm")
                    #expect(stats.pending == 0 && stats.inFlight == 0 && stats.dead == 1 && stats.delivered == 0)
                    let letters = try await engine.store.deadLetters(destination: "crm", limit: 10)
                    let letter = try #require(letters.first)
                    #expect(letters.count == 1)
                    #expect(letter.eventID == id)
                    #expect(letter.attempts == 4)
                    #expect(letter.lastStatus == 500)
                    #expect(letter.lastError == "HTTP 500")
                    #expect(letter.lastResponse == "upstream exploded")

                    receiver.respond { _ in .ok }
                    let moved = try await engine.store.replay(ids: [letter.id], destination: nil, nowMilliseconds: Timestamp.nowMilliseconds())
                    #expect(moved == 1)
                    engine.dispatcher.wake()
                    #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").delivered == 1 })
                    #expect(receiver.count == 5)
                    #expect(receiver.hits.last?.header("webhook-id") == id)
                    #expect(try await engine.store.deadLetters(destination: "crm", limit: 10).isEmpty)
                    let after = try await engine.stats("crm")
                    #expect(after.pending == 0 && after.inFlight == 0 && after.dead == 0)
                }
            }
        }

        @Test func jobCountsAtEachStage() async throws {
            // Each attempt is held 300 ms by the receiver, then fails; one retry after 500 ms.
            let holding = Reply(status: .badGateway, body: Array("bad gateway".utf8), delay: .milliseconds(300))
            try await Receiver.with({ _ in holding }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, retry: "[500ms]")) { engine in
                    #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: Self.secret).status == 200)

                    #expect(await eventually(timeout: .seconds(2)) { receiver.count == 1 })
                    var s = try await engine.stats("crm")
                    #expect(s.inFlight == 1 && s.pending == 0 && s.dead == 0, "during attempt 1: \(s)")

                    #expect(await eventually(timeout: .milliseconds(450)) {
                        let s = try await engine.stats("crm")
                        return s.pending == 1 && s.inFlight == 0
                    }, "pending between attempts")
                    s = try await engine.stats("crm")
                    #expect(s.dead == 0 && receiver.count == 1)
                    #expect(s.oldestPendingSeconds != nil)

                    #expect(await eventually(timeout: .seconds(2)) { receiver.count == 2 })
                    s = try await engine.stats("crm")
                    #expect(s.inFlight == 1 && s.pending == 0 && s.dead == 0, "during attempt 2: \(s)")

                    #expect(await eventually(timeout: .seconds(2)) { try await engine.stats("crm").dead == 1 })
                    s = try await engine.stats("crm")
                    #expect(s.pending == 0 && s.inFlight == 0 && s.delivered == 0)
                    #expect(s.oldestPendingSeconds == nil)
                    let letter = try #require(try await engine.store.deadLetters(destination: nil, limit: 10).first)
                    #expect(letter.lastStatus == 502 && letter.attempts == 2 && letter.lastResponse == "bad gateway")
                }
            }
        }

        @Test func perDestinationScheduleOverridesTheTopLevelOne() async throws {
            try await Receiver.with({ _ in .status(.internalServerError) }) { receiver in
                let yaml = """
                    retry: [100ms, 100ms, 100ms]
                    sources:
                      line:
                        provider: line
                        channel_secret: \(Self.secret)
                    destinations:
                      short:
                        url: http://127.0.0.1:\(receiver.port)/short
                        retry: [100ms]
                        breaker: off
                      long:
                        url: http://127.0.0.1:\(receiver.port)/long
                        breaker: off
                    routes:
                      - to: [short, long]
                    """
                try await Engine.with(yaml: yaml) { engine in
                    #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: Self.secret).status == 200)
                    #expect(await eventually(timeout: .seconds(10)) {
                        let (short, long) = (try await engine.stats("short"), try await engine.stats("long"))
                        return short.dead == 1 && long.dead == 1
                    })
                    let letters = try await engine.store.deadLetters(destination: nil, limit: 10)
                    #expect(letters.first { $0.destination == "short" }?.attempts == 2)
                    #expect(letters.first { $0.destination == "long" }?.attempts == 4)
                    #expect(receiver.hits.filter { $0.path == "/short" }.count == 2)
                    #expect(receiver.hits.filter { $0.path == "/long" }.count == 4)
                }
            }
        }

        @Test func retryAfterPostponesTheNextAttempt() async throws {
            let reply: @Sendable (Hit) -> Reply = { hit in
                hit.index == 0 ? Reply(status: .serviceUnavailable, headers: [.retryAfter: "1"]) : .ok
            }
            try await Receiver.with(reply) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, retry: "[100ms]")) { engine in
                    #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: Self.secret).status == 200)
                    #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").delivered == 1 })
                    let hits = receiver.hits
                    try #require(hits.count == 2)
                    let gap = milliseconds(from: hits[0].arrivedAt, to: hits[1].arrivedAt)
                    print("retry-after: attempt 2 came \(Int(gap)) ms after attempt 1 (Retry-After: 1, schedule 100ms)")
                    #expect(gap >= 995, "Retry-After: 1 was not honoured (gap \(gap) ms)")
                    #expect(gap < 1_400)
                }
            }
        }
    }
}
