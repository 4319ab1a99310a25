import ArgumentParser
import RelayCore
import RelayServer
import RelayStore

extension ConfigOptions {
    /// Runs `body` against the configured store (whether or not a relay is running on it) and closes it.
    func withStore<T>(_ body: (RelayConfig, any Store) async throws -> T) async throws -> T {
        let config = try load()
        let opened: OpenedStore
        do {
            opened = try OpenedStore(config.store)
        } catch {
            throw CommandFailure.exit(error.message)
        }
        do {
            let result: T
            if let postgres = opened.postgres {
                result = try await postgres.withRunning { try await body(config, postgres) }
            } else {
                result = try await body(config, opened.store)
            }
            await opened.store.close()
            return result
        } catch let error as StoreError {
            await opened.store.close()
            throw CommandFailure.exit(error.message)
        } catch {
            await opened.store.close()
            throw error
        }
    }
}
