import RelayCore
import RelayStore
import Testing

extension StoreContract {
    /// The contract every store keeps for dedup and group commit, run against each kind.
    @Suite("Store contract: dedup and group commit")
    struct StoreContractDedupTests {
        @Test(arguments: StoreKind.testable)
        func newEventIsStoredWithOneJobPerDestination(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let event = Sample.event("01GNEW")
                #expect(try await store.ingest(Sample.request([event], keepPassthrough: true)) == [true])
                #expect(try await store.ingest(Sample.request([Sample.event("01GNOWHERE")], destinations: [])) == [true])
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                #expect(stats.events == 2 && stats.dedupKeys == 2)
                #expect(stats.destinations.map(\.destination) == ["bot", "crm"])
                #expect(stats.pending("crm") == 1 && stats.pending("bot") == 1)

                let job = try #require(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).first)
                #expect(job.eventID == "01GNEW" && job.sourceID == "line" && job.provider == .line)
                #expect(job.type == "delivery.delivered" && job.attempts == 0)
                #expect(job.canonical == event.canonical && job.passthrough == event.passthrough)
                let plain = try #require(try await store.claimDue(destination: "bot", nowMilliseconds: Sample.now, limit: 10).first)
                #expect(plain.passthrough == event.passthrough)
                _ = try await store.ingest(Sample.request([Sample.event("01GCANON")], keepPassthrough: false))
                let canonicalOnly = try #require(try await store.claimDue(destination: "bot", nowMilliseconds: Sample.now, limit: 10).first)
                #expect(canonicalOnly.eventID == "01GCANON" && canonicalOnly.passthrough == nil)
            }
        }

        @Test(arguments: StoreKind.testable)
        func duplicatesWithinAndAcrossRequestsAndSources(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                #expect(try await store.ingest(Sample.request("a")) == [true])
                #expect(try await store.ingest(Sample.request("a", "b")) == [false, true])
                #expect(try await store.ingest(Sample.request("c", "c")) == [true, false])
                #expect(try await store.ingest(Sample.request("a", source: "line-2")) == [true])
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                #expect(stats.events == 4 && stats.dedupKeys == 4)
                #expect(stats.pending("crm") == 4)
            }
        }

        /// Convoy's dedup race (PR #2747): 50 copies of one event at once are accepted once, with one job per destination.
        @Test(arguments: StoreKind.testable)
        func fiftyConcurrentCopiesAreAcceptedOnce(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let accepted = try await withThrowingTaskGroup(of: [Bool].self) { group in
                    for _ in 0..<50 { group.addTask { try await store.ingest(Sample.request("dup")) } }
                    return try await group.reduce(into: 0) { $0 += $1.filter { $0 }.count }
                }
                #expect(accepted == 1)
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                #expect(stats.events == 1 && stats.dedupKeys == 1)
                #expect(stats.pending("crm") == 1 && stats.pending("bot") == 1)
            }
        }

        @Test(arguments: StoreKind.testable)
        func expiredKeysAdmitTheEventAgain(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                #expect(try await store.ingest(Sample.request("old", "kept", at: Sample.now, expiresAt: Sample.now + 1_000)) == [true, true])
                // Before expiry a copy is refused; once passed, the same id is a new event even before expiry deletes the key.
                #expect(try await store.ingest(Sample.request("old", at: Sample.now + 999)) == [false])
                #expect(try await store.ingest(Sample.request("old", at: Sample.now + 1_000, expiresAt: Sample.now + 5_000)) == [true])
                #expect(try await store.expireDedupKeys(nowMilliseconds: Sample.now + 1_000, limit: 10) == 1)  // "kept" only
                #expect(try await store.expireDedupKeys(nowMilliseconds: Sample.now + 1_000, limit: 10) == 0)
                #expect(try await store.ingest(Sample.request("kept", at: Sample.now + 2_000)) == [true])
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                #expect(stats.dedupKeys == 2 && stats.events == 4)
            }
        }

        @Test(arguments: StoreKind.testable)
        func concurrentIngestsShareCommits(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let results = try await withThrowingTaskGroup(of: [Bool].self) { group in
                    for index in 0..<200 { group.addTask { try await store.ingest(Sample.request("event-\(index)")) } }
                    return try await group.reduce(into: [[Bool]]()) { $0.append($1) }
                }
                #expect(results.count == 200 && results.allSatisfy { $0 == [true] })
                let groups = open.groups.snapshot
                #expect(groups.requests == 200 && groups.events == 200)
                #expect(groups.groups >= 1 && groups.groups < 200)
                #expect(groups.largestRequests > 1)
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                #expect(stats.events == 200 && stats.pending("crm") == 200 && stats.pending("bot") == 200)
            }
        }

        @Test(arguments: StoreKind.testable)
        func storeIsWritable(kind: StoreKind) async throws {
            try await withStore(kind) { open in #expect(await open.store.isWritable()) }
        }
    }
}
