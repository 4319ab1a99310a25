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

    /// Runs `body` against the configured store and closes it.
    func withStore<T>(_ body: (RelayConfig, SQLiteStore) async throws -> T) async throws -> T {
        let config = try load()
        let store = try openStore(config)
        do {
            let result = try await body(config, store)
            await store.close()
            return result
        } catch let error as StoreError {
            await store.close()
            throw CommandFailure.exit(error.message)
        } catch {
            await store.close()
            throw error
        }
    }
}
