import Metrics
import Synchronization

/// The bytes of request bodies held in memory at once, over every ingest request (`limits.max_buffered`).
///
/// Bytes are counted as they arrive rather than as announced, so a thousand slow clients that each promise a large
/// body hold only what they have sent, and a provider's small request still fits beside them.
public final class BodyBudget: Sendable {
    private let held = Mutex(0)
    /// `relay_ingest_buffered_bytes`: how much of `max_buffered` is in use.
    private let gauge = Gauge(label: "relay_ingest_buffered_bytes")

    public init() {}

    /// A body part did not fit: the request it belongs to is answered 503 (the provider retries).
    public struct Exhausted: Error, Sendable {}

    /// Bytes held now.
    public var current: Int { held.withLock { $0 } }

    /// Takes `bytes` if that keeps the total within `limit`; false (nothing taken) otherwise.
    public func take(_ bytes: Int, limit: Int) -> Bool {
        held.withLock { total in
            guard bytes <= limit - total else { return false }
            total += bytes
            gauge.record(total)
            return true
        }
    }

    /// Gives back what `take` took.
    public func give(_ bytes: Int) {
        guard bytes > 0 else { return }
        held.withLock { total in
            total -= bytes
            gauge.record(total)
        }
    }
}
