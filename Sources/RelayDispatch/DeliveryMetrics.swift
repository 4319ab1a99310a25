import Metrics
import RelayStore

/// One destination's attempt metrics, made once rather than looked up in the registry per attempt.
struct AttemptMetrics: Sendable {
    let delivered: Counter
    let retry: Counter
    let dead: Counter
    let duration: Timer

    init(destination: String) {
        func counter(_ outcome: String) -> Counter {
            Counter(label: "relay_delivery_attempts_total", dimensions: [("destination", destination), ("outcome", outcome)])
        }
        delivered = counter("delivered")
        retry = counter("retry")
        dead = counter("dead")
        duration = Timer(label: "relay_delivery_seconds", dimensions: [("destination", destination)], preferredDisplayUnit: .seconds)
    }

    /// One job's attempt (a batch request counts once for each job it carried).
    func record(_ state: JobOutcome.State) {
        switch state {
        case .delivered: delivered.increment()
        case .pending: retry.increment()
        case .dead: dead.increment()
        }
    }

    /// One HTTP request's duration (a batch request is one).
    func record(requestDuration elapsed: Duration) {
        duration.recordNanoseconds(elapsed.nanoseconds)
    }
}

/// The delivery side's gauges (names from SPEC section 8).
struct DeliveryMetrics: Sendable {

    /// `pending` counts the jobs held behind their subject's head too (as `relay stats` does); the gauges split them, so
    /// the states add up: `pending` due or waiting for a retry, `held` waiting for an earlier job of their subject.
    func jobs(destination: String, pending: Int, held: Int = 0, inFlight: Int, dead: Int, oldestPendingSeconds: Double) {
        for (state, value) in [("pending", pending - held), ("held", held), ("in_flight", inFlight), ("dead", dead)] {
            Gauge(label: "relay_jobs", dimensions: [("destination", destination), ("state", state)]).record(value)
        }
        Gauge(label: "relay_oldest_pending_seconds", dimensions: [("destination", destination)]).record(oldestPendingSeconds)
    }

    func dedupKeys(_ count: Int) {
        Gauge(label: "relay_dedup_keys").record(count)
    }
}
