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
            for _ in 0..<3 { stores.append(try PostgresStore(url: url)) }
            let writable = try await withThrowingTaskGroup(of: Bool.self) { group -> Int in
                for store in stores { group.addTask { try await store.withRunning { () async throws -> Bool in await store.isWritable() } } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(writable == 3)
            // A fourth start finds nothing to apply, and the data survives restarts.
            let again = try PostgresStore(url: url)
            try await again.withRunning { () async throws in
                #expect(try await again.ingest(Sample.request("kept")) == [true])
            }
            let last = try PostgresStore(url: url)
            try await last.withRunning { () async throws in
                #expect(try await last.ingest(Sample.request("kept")) == [false])
                #expect(try await last.stats(nowMilliseconds: Sample.now).events == 1)
            }
        }

        /// Convoy's dedup race (PR #2747) across instances: 50 copies split over two stores, each with its own pool and
        /// writer, are accepted once, with one job per destination (#2766).
        @Test func copiesSplitAcrossTwoStoresAreAcceptedOnce() async throws {
            let url = try await TestPostgres.shared.makeDatabase()
            let first = try PostgresStore(url: url)
            let second = try PostgresStore(url: url)
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
                #expect(throws: StoreError.self) { try PostgresStore(url: url) }
                do { _ = try PostgresStore(url: url) } catch { #expect(!error.message.contains("s3cret"), "\(url)") }
            }
        }
    }
}
