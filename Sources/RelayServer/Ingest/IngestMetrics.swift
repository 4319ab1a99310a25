import Metrics
import Synchronization

/// The ingest side's metrics (names from SPEC section 8), their handles made once per source and status
/// rather than looked up in the registry on every request.
public final class IngestMetrics: Sendable {
    struct SourceMetrics: Sendable {
        let accepted: Counter
        let duplicate: Counter
        let redeliveries: Counter
        let ack: Timer
        let advanced: Counter
        let stale: Counter

        init(source: String) {
            advanced = Counter(label: "relay_status_events_total", dimensions: [("source", source), ("progress", "advanced")])
            stale = Counter(label: "relay_status_events_total", dimensions: [("source", source), ("progress", "stale")])
            accepted = Counter(label: "relay_events_total", dimensions: [("source", source), ("outcome", "accepted")])
            duplicate = Counter(label: "relay_events_total", dimensions: [("source", source), ("outcome", "duplicate")])
            redeliveries = Counter(label: "relay_redeliveries_total", dimensions: [("source", source)])
            ack = Timer(label: "relay_ack_seconds", dimensions: [("source", source)], preferredDisplayUnit: .seconds)
        }
    }

    private struct RequestKey: Hashable {
        var source: String
        var status: Int
    }

    private let sources = Mutex<[String: SourceMetrics]>([:])
    private let requests = Mutex<[RequestKey: Counter]>([:])

    public init() {}

    private func source(_ id: String) -> SourceMetrics {
        sources.withLock { cache in
            if let found = cache[id] { return found }
            let made = SourceMetrics(source: id)
            cache[id] = made
            return made
        }
    }

    /// `source` must be a configured source id (or a fixed placeholder), so labels stay bounded.
    func request(source: String, status: Int, duration: Duration) {
        let counter = requests.withLock { cache in
            let key = RequestKey(source: source, status: status)
            if let found = cache[key] { return found }
            let made = Counter(label: "relay_ingest_requests_total", dimensions: [("source", source), ("status", String(status))])
            cache[key] = made
            return made
        }
        counter.increment()
        if status == 200 { self.source(source).ack.recordNanoseconds(duration.nanoseconds) }
    }

    func events(source id: String, accepted: Int, duplicates: Int, redeliveries: Int, advanced: Int = 0, stale: Int = 0) {
        let metrics = source(id)
        if advanced > 0 { metrics.advanced.increment(by: advanced) }
        if stale > 0 { metrics.stale.increment(by: stale) }
        if accepted > 0 { metrics.accepted.increment(by: accepted) }
        if duplicates > 0 { metrics.duplicate.increment(by: duplicates) }
        if redeliveries > 0 { metrics.redeliveries.increment(by: redeliveries) }
    }
}
