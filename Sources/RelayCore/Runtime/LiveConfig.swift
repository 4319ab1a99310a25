import Synchronization

/// The configuration in force, replaced whole on reload; readers take a consistent snapshot per request or job.
public final class LiveConfig: Sendable {
    private let state: Mutex<RelayConfig>

    public init(_ config: RelayConfig) { state = Mutex(config) }

    /// The configuration now.
    public var current: RelayConfig { state.withLock { $0 } }

    /// Puts `config` in force for new requests and new jobs.
    public func replace(with config: RelayConfig) { state.withLock { $0 = config } }
}
