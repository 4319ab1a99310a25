import Foundation
import RelayCore
import RelayStore
import Testing

/// Deduplication and durability of the SQLite store, on a real file in a fresh directory per test.
@Suite("Store dedup and durability")
struct StoreDedupTests {
    @Test func newEventIsStoredWithOneJobPerDestination() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            let event = Sample.event("01GNEW")
            #expect(try await store.ingest(Sample.request([event], keepPassthrough: true)) == [true])
            #expect(try await store.ingest(Sample.request([Sample.event("01GNOWHERE")], destinations: [])) == [true])

            let stats = try await store.stats(nowMilliseconds: Sample.now)
            #expect(stats.events == 2)
            #expect(stats.dedupKeys == 2)
            #expect(stats.destinations.map(\.destination) == ["bot", "crm"])
            #expect(stats.pending("crm") == 1)
            #expect(stats.pending("bot") == 1)

            let jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
            let job = try #require(jobs.first)
            #expect(jobs.count == 1)
            #expect(job.eventID == "01GNEW")
            #expect(job.sourceID == "line")
            #expect(job.provider == .line)
            #expect(job.type == "delivery.delivered")
            #expect(job.attempts == 0)
            #expect(job.canonical == event.canonical)
            #expect(job.passthrough == event.passthrough)
            // Claimed jobs are in flight, not due again.
            #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).isEmpty)
            #expect(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" }?.inFlight == 1)
        }
    }

    @Test func passthroughIsKeptOnlyWhenWanted() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            _ = try await store.ingest(Sample.request([Sample.event("01GCANON")], keepPassthrough: false))
            let job = try #require(try await store.claimDue(destination: "bot", nowMilliseconds: Sample.now, limit: 10).first)
            #expect(job.passthrough == nil)
            #expect(job.canonical == Sample.event("01GCANON").canonical)
        }
    }

    @Test func duplicatesWithinAndAcrossRequests() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            #expect(try await store.ingest(Sample.request("a")) == [true])
            #expect(try await store.ingest(Sample.request("a", "b")) == [false, true])
            #expect(try await store.ingest(Sample.request("c", "c")) == [true, false])
            // Keys are per source: the same id from another source is another event.
            #expect(try await store.ingest(Sample.request("a", source: "line-2")) == [true])
            let stats = try await store.stats(nowMilliseconds: Sample.now)
            #expect(stats.events == 4)
            #expect(stats.pending("crm") == 4)
        }
    }

    @Test func concurrentCopiesOfOneEventGetThroughOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await store.ingest(Sample.request("01GSAME"))[0] }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.count == 50)
            #expect(results.count { $0 } == 1)
            let stats = try await store.stats(nowMilliseconds: Sample.now)
            #expect(stats.events == 1)
            #expect(stats.pending("crm") == 1)
        }
    }

    @Test func dedupSurvivesCloseAndReopen() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { first async throws in
            #expect(try await first.ingest(Sample.request("01GKEEP")) == [true])
        }

        try await SQLiteStore(path: dir.databasePath).serving { second async throws in
            #expect(try await second.ingest(Sample.request("01GKEEP")) == [false])
            let stats = try await second.stats(nowMilliseconds: Sample.now)
            #expect(stats.events == 1)
            #expect(stats.pending("crm") == 1)
            #expect(stats.pending("bot") == 1)
            #expect(try await second.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 1).first?.eventID == "01GKEEP")
        }
    }

    @Test func expiredKeyLetsTheEventInAgain() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            let t0 = Sample.now
            #expect(try await store.ingest(Sample.request("e", at: t0, expiresAt: t0 + 1_000)) == [true])
            #expect(try await store.ingest(Sample.request("e", at: t0 + 999, expiresAt: t0 + 2_000)) == [false])
            // A duplicate does not extend the window.
            #expect(try await store.ingest(Sample.request("e", at: t0 + 1_000, expiresAt: t0 + 3_000)) == [true])
            #expect(try await store.ingest(Sample.request("e", at: t0 + 2_500)) == [false])
            let stats = try await store.stats(nowMilliseconds: t0)
            #expect(stats.events == 2)
            #expect(stats.dedupKeys == 1)
            #expect(stats.pending("crm") == 2)
        }
    }

    @Test func expireDedupKeysRemovesOnlyExpiredOnes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            let t0 = Sample.now
            for (id, expires) in [("old-1", t0 + 100), ("old-2", t0 + 200), ("edge", t0 + 300), ("fresh", t0 + 10_000)] {
                #expect(try await store.ingest(Sample.request(id, at: t0, expiresAt: expires)) == [true])
            }
            #expect(try await store.expireDedupKeys(nowMilliseconds: t0 + 300, limit: 2) == 2)
            #expect(try await store.expireDedupKeys(nowMilliseconds: t0 + 300, limit: 100) == 1)
            #expect(try await store.expireDedupKeys(nowMilliseconds: t0 + 300, limit: 100) == 0)
            let stats = try await store.stats(nowMilliseconds: t0)
            #expect(stats.dedupKeys == 1)
            // Events and jobs are not touched by key expiry.
            #expect(stats.events == 4)
            #expect(stats.pending("crm") == 4)
            // The unexpired key still deduplicates; an expired one no longer does.
            #expect(try await store.ingest(Sample.request("fresh", at: t0 + 400)) == [false])
            #expect(try await store.ingest(Sample.request("old-1", at: t0 + 400)) == [true])
        }
    }

    @Test func readOnlyStoreRefusesWritesAndStoresNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { writable async throws in
            #expect(try await writable.ingest(Sample.request("before")) == [true])
            #expect(await writable.isWritable())
        }

        try await SQLiteStore(path: dir.databasePath, readOnly: true).serving { readOnly async throws in
            #expect(await readOnly.isWritable() == false)
            await #expect(throws: StoreError.self) { try await readOnly.ingest(Sample.request("during")) }
            #expect(try await readOnly.stats(nowMilliseconds: Sample.now).events == 1)
        }

        try await SQLiteStore(path: dir.databasePath).serving { reopened async throws in
            let stats = try await reopened.stats(nowMilliseconds: Sample.now)
            #expect(stats.events == 1)
            #expect(stats.dedupKeys == 1)
            #expect(stats.pending("crm") == 1)
            // The refused event was never recorded, so it is new now.
            #expect(try await reopened.ingest(Sample.request("during")) == [true])
        }
    }

    @Test func closedStoreRefusesIngest() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try SQLiteStore(path: dir.databasePath)
        _ = try await store.serving { _ in }  // run and stopped: closed
        await #expect(throws: StoreError.self) { try await store.ingest(Sample.request("late")) }
    }
}
