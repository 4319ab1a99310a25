import Foundation
import RelayCore
import RelayStore
import Testing

/// Outcomes recorded in one group (alike deliveries in one statement, the rest one by one) and the background
/// checkpointer that copies committed pages into the database file beside the writer.
@Suite("Store writes")
struct StoreWriteTests {
    @Test func mixedOutcomesAreEachRecordedAsTheySay() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            _ = try await store.ingest(Sample.request("a", "b", "c", "d", "e", "f"))
            let claimed = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
            let id = Dictionary(uniqueKeysWithValues: claimed.map { ($0.eventID, $0.claim) })
            #expect(id.count == 6)
            try await store.complete([
                JobOutcome(claim: id["a"]!, state: .delivered, attempts: 1, status: 200),
                JobOutcome(claim: id["b"]!, state: .delivered, attempts: 1, status: 200),
                JobOutcome(claim: id["c"]!, state: .delivered, attempts: 3, status: 204),
                JobOutcome(claim: id["d"]!, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now + 1_000, status: 503, error: "HTTP 503"),
                JobOutcome(claim: id["e"]!, state: .dead, attempts: 4, status: 400, error: "HTTP 400", response: "bad"),
            ], nowMilliseconds: Sample.now)
            // A delivery of a job no longer in flight (released meanwhile) changes nothing.
            try await store.release([id["f"]!], nowMilliseconds: Sample.now)
            try await store.complete([JobOutcome(claim: id["f"]!, state: .delivered, attempts: 1, status: 200)], nowMilliseconds: Sample.now)

            let crm = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
            #expect(crm.delivered == 3 && crm.pending == 2 && crm.dead == 1 && crm.inFlight == 0)
            let dead = try #require(try await store.deadLetters(destination: "crm", limit: 10).first)
            #expect(dead.eventID == "e" && dead.attempts == 4 && dead.lastStatus == 400 && dead.lastResponse == "bad")
            // "f" is due now with no attempt counted; "d" only after its retry delay, with its attempt kept.
            #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map(\.eventID) == ["f"])
            let retried = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 1_000, limit: 10)
            #expect(retried.map(\.eventID) == ["d"] && retried.first?.attempts == 1)
        }
    }

    @Test func gaugeStatsLeaveOutOnlyTheEventCount() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            _ = try await store.ingest(Sample.request("a", "b", "c"))
            let full = try await store.stats(nowMilliseconds: Sample.now)
            let gauges = try await store.stats(nowMilliseconds: Sample.now, countingEvents: false)
            #expect(full.events == 3 && gauges.events == 0)
            #expect(full.destinations == gauges.destinations && full.dedupKeys == gauges.dedupKeys && gauges.dedupKeys == 3)
            #expect(gauges.pending("crm") == 3 && gauges.pending("bot") == 3)
        }
    }

    @Test func committedPagesReachTheDatabaseFileWhileTheStoreRuns() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            func fileSize() -> Int { ((try? FileManager.default.attributesOfItem(atPath: dir.databasePath))?[.size] as? Int) ?? 0 }
            let before = fileSize()
            // About 400 pages of WAL: far below the writer's own checkpoint threshold, so only the background
            // checkpointer can have copied them into the database file.
            for n in 0..<40 {
                let events = (0..<10).map { Sample.event("e\(n)-\($0)-" + String(repeating: "x", count: 3_000)) }
                _ = try await store.ingest(Sample.request(events))
            }
            let deadline = ContinuousClock.now + .seconds(5)
            while fileSize() < before + 1_000_000 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(fileSize() >= before + 1_000_000, "database file \(before) -> \(fileSize()) bytes")
        }
    }
}
