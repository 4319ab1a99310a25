import Metrics
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
            if total > peak.load(ordering: .relaxed) { peak.store(total, ordering: .relaxed) }
            return true
        }
    }

    /// Gives back what `take` took.
    public func give(_ bytes: Int) {
        guard bytes > 0 else { return }
        let floodOver = held.withLock { total -> Bool in
            total -= bytes
            gauge.record(total)
            return total < Self.trimBelow && peak.exchange(0, ordering: .relaxed) > Self.trimAfter
        }
        // The bodies of a flood were freed, but the allocator keeps the pages of its per-thread arenas: after 3,000
        // slow 900 KiB bodies RSS stayed 30-60 MiB above where it was. Handing them back once the flood is over
        // (not per request: only after more than `trimAfter` was held) brings it back to its baseline.
        if floodOver { Self.trimHeap() }
    }

    /// glibc's `malloc_trim(0)`, found at run time (its header is not part of the Glibc module); nothing elsewhere.
    static func trimHeap() {
        #if canImport(Glibc)
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
        #endif
    }

    /// The most held since the last trim.
    private let peak = Atomic<Int>(0)
    /// A trim follows a time when more than this was held, once less than `trimBelow` is.
    static let trimAfter = 16 << 20
    static let trimBelow = 1 << 20
}
