import Logging
import RelayCore
import RelayStore
import ServiceLifecycle

/// The configured store, and the service that runs its background work when it has one to run in the group.
public struct OpenedStore: Sendable {
    public var store: any Store
    /// PostgreSQL's store runs its pool and writer as a service; SQLite's still starts its own.
    public var postgres: PostgresStore?

    /// Opens the store `config` names; nothing connects before the store runs.
    public init(_ config: StoreConfig, logger: Logger = Logger(label: "relay.store")) throws(StoreError) {
        switch config {
        case .sqlite(let path):
            store = try SQLiteStore(path: path, logger: logger)
            postgres = nil
        case .postgres(let url):
            let opened = try PostgresStore(url: url, logger: logger)
            store = opened
            postgres = opened
        }
    }
}
