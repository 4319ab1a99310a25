import Logging
import RelayCore
import RelayStore
import ServiceLifecycle

/// The store the configuration names, opened (nothing runs or connects until its `run()`).
public struct OpenedStore: Sendable {
    public var store: any Store

    /// Opens the store `config` names; nothing connects before the store runs.
    public init(_ config: StoreConfig, logger: Logger = Logger(label: "relay.store")) throws(StoreError) {
        switch config {
        case .sqlite(let path):
            store = try SQLiteStore(path: path, logger: logger)
        case .postgres(let url):
            store = try PostgresStore(url: url, logger: logger)
        }
    }
}
