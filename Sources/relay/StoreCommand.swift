import ArgumentParser
import RelayCore
import RelayServer
import RelayStore

extension ConfigOptions {
    /// Runs `body` against the configured store (whether or not a relay is running on it), the store running beside
    /// it until `body` is done.
    func withStore<T: Sendable>(_ body: (RelayConfig, any Store) async throws -> T) async throws -> T {
        let config = try load()
        let opened: OpenedStore
        do {
            opened = try OpenedStore(config.store)
        } catch {
            throw CommandFailure.exit(error.message)
        }
        do {
            return try await opened.store.serving { try await body(config, opened.store) }
        } catch let error as StoreError {
            throw CommandFailure.exit(error.message)
        }
    }
}
