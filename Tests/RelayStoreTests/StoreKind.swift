import RelayStore
import RelayTestSupport
import Testing

/// The stores the contract suite runs against: each case opens a fresh one (a new SQLite file, a new PostgreSQL
/// database on the test server) so cases running in parallel share nothing.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// Every kind this machine can run; PostgreSQL's absence shows as the skipped `postgresCasesRun` test.
    static var testable: [StoreKind] { OptionalTool.postgres.isAvailable ? allCases : [.sqlite] }
}

/// An open store of one kind, with its commit-group figures.
struct OpenStore {
    var store: any Store
    var groups: CommitGroupStats
}

/// Runs `body` on a fresh store of `kind`, the store running beside it.
func withStore<T: Sendable>(_ kind: StoreKind, _ body: (OpenStore) async throws -> T) async throws -> T {
    switch kind {
    case .sqlite:
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try SQLiteStore(path: dir.databasePath)
        return try await store.serving { () async throws -> T in try await body(OpenStore(store: store, groups: store.groupStats)) }
    case .postgres:
        let store = try PostgresStore(url: try await TestPostgres.shared.makeDatabase(), jobClock: .caller)
        return try await store.serving { () async throws -> T in try await body(OpenStore(store: store, groups: store.groupStats)) }
    }
}

/// Every contract suite nests here and runs one case at a time: a PostgreSQL server, its fsyncs and a store's
/// writer per case, all at once, took enough of two cores to make the timing tests of other targets miss.
@Suite(.serialized) enum StoreContract {}

@Suite("Store kinds")
struct StoreKindTests {
    /// Skipped, with the reason, where PostgreSQL is not installed: `.ci/run` fails on the skip.
    @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
    func postgresCasesRun() async throws {
        #expect(StoreKind.testable == [.sqlite, .postgres])
        // A server that starts and a store that migrates and answers, with the schema recorded once.
        try await withStore(.postgres) { open in
            #expect(await open.store.isWritable())
        }
    }
}
