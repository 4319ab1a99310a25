import RelayCore
import RelayStore
import RelayTestSupport
import Testing

extension StoreContract {
    /// Several stores on one PostgreSQL database, as several relay instances are: in one process here (the process
    /// tests with real relays come with leases).
    @Suite("PostgreSQL shared by several stores", .enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
    struct PostgresSharedStoreTests {
        /// Three stores starting at once on an empty database: one migrates, the others wait for it and find it done.
        @Test func concurrentStartsMigrateOnce() async throws {
            let url = try await TestPostgres.shared.makeDatabase()
            var stores: [PostgresStore] = []
            for _ in 0..<3 { stores.append(try PostgresStore(url: url, jobClock: .caller)) }
            let writable = try await withThrowingTaskGroup(of: Bool.self) { group -> Int in
                for store in stores { group.addTask { try await store.withRunning { () async throws -> Bool in await store.isWritable() } } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(writable == 3)
            // A fourth start finds nothing to apply, and the data survives restarts.
            let again = try PostgresStore(url: url, jobClock: .caller)
            try await again.withRunning { () async throws in
                #expect(try await again.ingest(Sample.request("kept")) == [true])
            }
            let last = try PostgresStore(url: url, jobClock: .caller)
            try await last.withRunning { () async throws in
                #expect(try await last.ingest(Sample.request("kept")) == [false])
                #expect(try await last.stats(nowMilliseconds: Sample.now).events == 1)
            }
        }

        /// Convoy's dedup race (PR #2747) across instances: 50 copies split over two stores, each with its own pool and
        /// writer, are accepted once, with one job per destination (#2766).
        @Test func copiesSplitAcrossTwoStoresAreAcceptedOnce() async throws {
            let url = try await TestPostgres.shared.makeDatabase()
            let first = try PostgresStore(url: url, jobClock: .caller)
            let second = try PostgresStore(url: url, jobClock: .caller)
            try await first.withRunning {
                try await second.withRunning {
                    for round in 0..<5 {
                        let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
                            for copy in 0..<50 {
                                let store = copy.isMultiple(of: 2) ? first : second
                                group.addTask { try await store.ingest(Sample.request("race-\(round)", "other-\(round)-\(copy)")).filter { $0 }.count }
                            }
                            return try await group.reduce(0, +)
                        }
                        // One copy of the shared event, plus each request's own distinct event.
                        #expect(accepted == 1 + 50, "round \(round)")
                    }
                    let stats = try await first.stats(nowMilliseconds: Sample.now)
                    #expect(stats.events == 5 * 51 && stats.pending("crm") == 5 * 51 && stats.pending("bot") == 5 * 51)
                    // Both stores' claims together take every job once.
                    async let a = first.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 1_000)
                    async let b = second.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 1_000)
                    let ids = try await (a + b).map(\.id)
                    #expect(ids.count == 5 * 51 && Set(ids).count == ids.count)
                }
            }
        }

        @Test func aBadURLIsRefusedWithoutItsPassword() {
            for url in ["mysql://u:s3cret@h/db", "postgres://u:s3cret@/db", "postgres://u:s3cret@h", "postgres://u:s3cret@h/db?sslmode=maybe"] {
                #expect(throws: StoreError.self) { try PostgresStore(url: url, jobClock: .caller) }
                do { _ = try PostgresStore(url: url, jobClock: .caller) } catch { #expect(!error.message.contains("s3cret"), "\(url)") }
            }
        }
    }
}

/// Leases and due times by PostgreSQL's clock (SPEC section 9, issue 24): an instance whose wall clock is two minutes
/// ahead or behind passes that clock to every call; the store judges by `now()` instead. Before, the instance ahead took
/// the other's live claims (124 duplicate attempts for 309 events, 16 attempted by both at once).
@Suite(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
struct PostgresJobClockTests {
    @Test func aSkewedInstanceNeitherTakesLiveClaimsNorDelaysJobs() async throws {
        let url = try await TestPostgres.shared.makeDatabase()
        let honest = try PostgresStore(url: url)
        let ahead = try PostgresStore(url: url)
        try await honest.serving {
            try await ahead.serving {
                let now = Timestamp.nowMilliseconds()
                let skew: Int64 = 120_000
                // Stored by the instance ahead: its jobs are due now by the database's clock, not in two minutes' time.
                _ = try await ahead.ingest(Sample.request("a", "b", at: now + skew))
                let claimed = try await honest.claimDue(destination: "crm", nowMilliseconds: now, limit: 1, leaseMilliseconds: 30_000)
                #expect(claimed.map(\.eventID) == ["a"])
                // The instance ahead sees the claim as live: by its own clock it lapsed 90 s ago.
                let second = try await ahead.claimDue(destination: "crm", nowMilliseconds: now + skew, limit: 10, leaseMilliseconds: 30_000)
                #expect(second.map(\.eventID) == ["b"])
                // The instance behind schedules a retry one second out: due in one second by the database's clock.
                let retried = try #require(second.first)
                try await ahead.complete([JobOutcome(claim: retried.claim, state: .pending, attempts: 1, nextAttemptAtMilliseconds: now - skew + 1_000)],
                                         nowMilliseconds: now - skew)
                let due = try #require(try await honest.nextDue(destination: "crm"))
                #expect(abs(due - (Timestamp.nowMilliseconds() + 1_000)) < 500, "due \(due - Timestamp.nowMilliseconds()) ms from now")
                #expect(try await honest.claimDue(destination: "crm", nowMilliseconds: now + skew, limit: 10, leaseMilliseconds: 30_000).isEmpty)
            }
        }
    }
}

extension PostgresJobClockTests {
    /// Through an outage longer than the lease, an instance's outcome queue can hold a job's stale outcome (its claim
    /// lapsed) and, behind it, the outcome of the attempt under the job's new claim. Before, the batch kept the first
    /// outcome per job: the stale one, which the fence refused, so the current one was dropped and the job sent again
    /// (one event reached the backend 3 times).
    @Test func theCurrentLeasesOutcomeWinsOverAStaleOneInTheSameBatch() async throws {
        let store = try PostgresStore(url: try await TestPostgres.shared.makeDatabase(), jobClock: .caller)
        try await store.serving {
            _ = try await store.ingest(Sample.request("a"))
            let stale = try #require(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 1, leaseMilliseconds: 1_000).first)
            let current = try #require(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 5_000, limit: 1, leaseMilliseconds: 1_000).first)
            #expect(stale.id == current.id && stale.lease != current.lease)
            let fenced = try await store.complete([
                JobOutcome(claim: stale.claim, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now + 6_000, status: 503),
                JobOutcome(claim: current.claim, state: .delivered, attempts: 1, status: 200),
            ], nowMilliseconds: Sample.now + 5_010)
            #expect(fenced == 1)
            let crm = try #require(try await store.stats(nowMilliseconds: Sample.now + 6_000).destinations.first { $0.destination == "crm" })
            #expect(crm.delivered == 1 && crm.pending == 0 && crm.inFlight == 0)
        }
    }
}
