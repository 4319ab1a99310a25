import Foundation
import RelayCore
import RelayStore
import Testing

/// A store error says what kind of failure it was and keeps SQLite's own words for it.
@Suite struct StoreErrorTests {
    /// The store error `body` throws, or nil when it throws none (or another error).
    static func error(_ body: () async throws -> Void) async -> StoreError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? StoreError
        }
    }

    @Test func readOnlyStoreRefusesACommitAsReadOnlyWithSQLitesCause() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try await SQLiteStore(path: dir.databasePath).serving { _ in }
        let error = try await SQLiteStore(path: dir.databasePath, readOnly: true).serving { store async throws in
            try #require(await Self.error { _ = try await store.ingest(Sample.request("ro")) })
        }
        #expect(error.kind == .readOnly)
        #expect(error.context == "cannot commit")
        #expect(error.cause?.contains("readonly database") == true, "cause: \(error.cause ?? "-")")
        #expect(error.message == "cannot commit: \(error.cause ?? "")")
    }

    @Test func closedStoreRefusesAsClosed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try SQLiteStore(path: dir.databasePath)
        _ = try await store.serving { _ in }  // run and stopped: closed
        let ingest = try #require(await Self.error { _ = try await store.ingest(Sample.request("late")) })
        #expect(ingest.kind == .closed)
        let read = try #require(await Self.error { _ = try await store.stats(nowMilliseconds: Sample.now) })
        #expect(read.kind == .closed, "a read after close: \(read)")
    }

    @Test func aFileThatIsNotADatabaseIsCorrupt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: (dir.databasePath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 8_192).write(to: URL(fileURLWithPath: dir.databasePath))
        #expect {
            _ = try SQLiteStore(path: dir.databasePath)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.kind == .corrupt && error.context.hasPrefix("cannot open the store at ") && error.cause != nil
        }
    }
}
