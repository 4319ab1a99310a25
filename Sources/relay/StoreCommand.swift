import ArgumentParser
import RelayCore
import RelayStore

extension ConfigOptions {
    /// Opens the configured store (works whether or not a relay is running on it).
    func openStore(_ config: RelayConfig) throws -> SQLiteStore {
        guard case .sqlite(let path) = config.store else { throw CommandFailure.exit("only the SQLite store is available") }
        do {
            return try SQLiteStore(path: path)
        } catch {
            throw CommandFailure.exit(error.message)
        }
    }

    /// Runs `body` against the configured store, the store running beside it until `body` is done.
    func withStore<T: Sendable>(_ body: (RelayConfig, SQLiteStore) async throws -> T) async throws -> T {
        let config = try load()
        do {
            return try await openStore(config).serving { store in try await body(config, store) }
        } catch let error as StoreError {
            throw CommandFailure.exit(error.message)
        }
    }
}
