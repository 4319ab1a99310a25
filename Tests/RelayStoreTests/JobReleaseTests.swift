import Foundation
import RelayCore
import RelayStore
import Testing

/// Claimed jobs handed back unattempted (a worker's reserve at a graceful stop).
@Suite("Store job release")
struct JobReleaseTests {
    @Test func releasedJobsArePendingAgainWithTheirAttemptsAndSchedule() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            _ = try await store.ingest(Sample.request("tried", "fresh", "sent"))
            let claimed = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
            let ids = Dictionary(uniqueKeysWithValues: claimed.map { ($0.eventID, $0.claim) })
            #expect(ids.count == 3)
            // One failed attempt, due again now; one delivered.
            try await store.complete([
                JobOutcome(claim: ids["tried"]!, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now, status: 500, error: "HTTP 500"),
                JobOutcome(claim: ids["sent"]!, state: .delivered, attempts: 1, status: 200),
            ], nowMilliseconds: Sample.now)
            let again = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
            #expect(Set(again.map(\.eventID)) == ["tried"])

            // Released: "tried" (claimed again) and "fresh" (in flight since the first claim); "sent" is not in flight.
            // "tried" is released under its second claim; its first claim no longer holds it.
            try await store.release([again[0].claim, ids["fresh"]!, ids["sent"]!], nowMilliseconds: Sample.now + 5)
            let crm = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
            #expect(crm.inFlight == 0)
            #expect(crm.pending == 2)
            #expect(crm.delivered == 1)
            // No attempt was counted for the release; both are due at once.
            let reclaimed = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
            #expect(Dictionary(uniqueKeysWithValues: reclaimed.map { ($0.eventID, $0.attempts) }) == ["tried": 1, "fresh": 0])
        }
    }
}
