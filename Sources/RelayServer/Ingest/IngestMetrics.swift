import Metrics

/// The ingest side's metrics (names from SPEC section 8).
public struct IngestMetrics: Sendable {
    public init() {}

    func request(source: String, status: Int, duration: Duration) {
        Counter(label: "relay_ingest_requests_total", dimensions: [("source", source), ("status", String(status))]).increment()
        if status == 200 {
            Timer(label: "relay_ack_seconds", dimensions: [("source", source)], preferredDisplayUnit: .seconds)
                .recordNanoseconds(duration.nanoseconds)
        }
    }

    func events(source: String, accepted: Int, duplicates: Int, redeliveries: Int) {
        if accepted > 0 { Counter(label: "relay_events_total", dimensions: [("source", source), ("outcome", "accepted")]).increment(by: accepted) }
        if duplicates > 0 { Counter(label: "relay_events_total", dimensions: [("source", source), ("outcome", "duplicate")]).increment(by: duplicates) }
        if redeliveries > 0 { Counter(label: "relay_redeliveries_total", dimensions: [("source", source)]).increment(by: redeliveries) }
    }
}
