import RelayCore
import RelayStore
import Testing

/// Concurrent requests share commits: all are stored, in fewer transactions than requests.
@Suite("Group commit")
struct GroupCommitTests {
    @Test func concurrentIngestsAreCommittedInGroups() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            let results = try await withThrowingTaskGroup(of: [Bool].self) { group in
                for index in 0..<200 {
                    group.addTask { try await store.ingest(Sample.request("event-\(index)")) }
                }
                return try await group.reduce(into: [[Bool]]()) { $0.append($1) }
            }
            #expect(results.count == 200)
            #expect(results.allSatisfy { $0 == [true] })

            let groups = store.groupStats.snapshot
            #expect(groups.requests == 200)
            #expect(groups.events == 200)
            #expect(groups.groups >= 1)
            #expect(groups.groups < 200)
            #expect(groups.largestRequests > 1)

            let stats = try await store.stats(nowMilliseconds: Sample.now)
            #expect(stats.events == 200)
            #expect(stats.dedupKeys == 200)
            #expect(stats.pending("crm") == 200)
            #expect(stats.pending("bot") == 200)
        }
    }

    @Test func groupWeightCountsEvents() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await SQLiteStore(path: dir.databasePath).serving { store async throws in
            let events = (0..<30).map { Sample.event("batch-\($0)") }
            #expect(try await store.ingest(Sample.request(events)) == Array(repeating: true, count: 30))
            #expect(try await store.ingest(Sample.request(events)) == Array(repeating: false, count: 30))
            let groups = store.groupStats.snapshot
            #expect(groups.requests == 2)
            #expect(groups.events == 60)
            #expect(groups.groups == 2)
        }
    }
}
