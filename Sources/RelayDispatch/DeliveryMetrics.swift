import Metrics

/// The delivery side's metrics (names from SPEC section 8).
struct DeliveryMetrics: Sendable {
    func attempt(destination: String, outcome: String, duration: Duration) {
        Counter(label: "relay_delivery_attempts_total", dimensions: [("destination", destination), ("outcome", outcome)]).increment()
        Timer(label: "relay_delivery_seconds", dimensions: [("destination", destination)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(duration.nanoseconds)
    }

    func jobs(destination: String, pending: Int, inFlight: Int, dead: Int, oldestPendingSeconds: Double) {
        for (state, value) in [("pending", pending), ("in_flight", inFlight), ("dead", dead)] {
            Gauge(label: "relay_jobs", dimensions: [("destination", destination), ("state", state)]).record(value)
        }
        Gauge(label: "relay_oldest_pending_seconds", dimensions: [("destination", destination)]).record(oldestPendingSeconds)
    }

    func dedupKeys(_ count: Int) {
        Gauge(label: "relay_dedup_keys").record(count)
    }
}
