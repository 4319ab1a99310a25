import Foundation
import Logging
@testable import RelayDispatch
import RelayCore
import RelayStore
import RelayTestSupport
import Testing

/// The outcome recorder against a store that refuses one outcome of a batch (a NUL in text on PostgreSQL): before,
/// it put the whole batch back and every later outcome joined it (2,888 at try 28), so healthy jobs stayed in flight and
/// were sent again each time their lease lapsed. Now the batch is written one outcome at a time and only the bad one
/// loses its texts (SPEC section 13, issue 23).
@Suite(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
struct OutcomeIsolationTests {
    @Test func oneUnstorableOutcomeCostsOnlyItsTexts() async throws {
        let store = try PostgresStore(url: try await TestPostgres.shared.makeDatabase())
        try await store.serving {
            let now = Timestamp.nowMilliseconds()
            let events = (0..<10).map { index in
                IncomingEvent(id: "e\(index)", type: "delivery.delivered", eventTime: now, redelivery: false,
                              canonical: Array(#"{"id":"e\#(index)"}"#.utf8), passthrough: [])
            }
            _ = try await store.ingest(IngestRequest(
                sourceID: "line", provider: .line, receivedAtMilliseconds: now, dedupExpiresAtMilliseconds: now + 60_000,
                events: events.map { IngestRequest.Event(event: $0, destinations: ["crm"], keepPassthrough: false) }))
            let jobs = try await store.claimDue(destination: "crm", nowMilliseconds: now, limit: 10)
            try #require(jobs.count == 10)

            let recorder = OutcomeRecorder(store: store, logger: Logger(label: "test"))
            for (index, job) in jobs.enumerated() {
                if index == 4 {
                    var poisoned = JobOutcome(claim: job.claim, state: .dead, attempts: 1, status: 500, error: "HTTP 500")
                    poisoned.response = "bad\u{0}nul"  // past the escaping that `JobOutcome.init` does
                    recorder.record(poisoned)
                } else {
                    recorder.record(JobOutcome(claim: job.claim, state: .delivered, attempts: 1, status: 200))
                }
            }
            recorder.close()
            await recorder.run(retriesScheduled: {})  // returns once everything queued is written

            let crm = try #require(try await store.stats(nowMilliseconds: now).destinations.first { $0.destination == "crm" })
            #expect(crm.delivered == 9 && crm.dead == 1 && crm.inFlight == 0, "\(crm)")
            let dead = try #require(try await store.deadLetters(destination: "crm", limit: 10).first)
            #expect(dead.eventID == "e4" && dead.lastStatus == 500 && dead.lastResponse == nil)
        }
    }
}
