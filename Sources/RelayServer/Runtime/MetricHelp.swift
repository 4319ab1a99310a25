/// The `# HELP` text of every metric relay exports (SPEC section 8), by name.
public enum MetricHelp {
    static let texts: [String: String] = [
        "relay_ingest_requests_total": "Webhook requests received, by source and HTTP status answered.",
        "relay_events_total": "Events in accepted webhook requests, by source and outcome (accepted or duplicate).",
        "relay_redeliveries_total": "Events the provider marked as redelivered, by source.",
        "relay_status_events_total": "New status events by source, and whether each advanced its message (advanced) or not (stale).",
        "relay_destination_state": "Each destination's state on this instance: 1 for the one it is in (closed, open, half_open, paused), 0 for the others.",
        "relay_overdue_total": "delivery.overdue events emitted, by source: messages with no receipt past their deadline.",
        "relay_ack_seconds": "Time from request start to the 200 answer, after the events were stored, by source.",
        "relay_delivery_attempts_total": "Finished delivery attempts, by destination and outcome.",
        "relay_delivery_fenced_total": "Attempt outcomes not recorded because the job's claim had lapsed and another claim took it.",
        "relay_housekeeping_turn": "1 on the instance doing housekeeping now (dedup expiry, pruning, the job gauges), else 0.",
        "relay_delivery_seconds": "Duration of one delivery request to a destination.",
        "relay_jobs": "Delivery jobs by destination and state (pending, held behind their subject's head, in_flight, dead).",
        "relay_oldest_pending_seconds": "Age of the oldest pending delivery job, by destination.",
        "relay_dedup_keys": "Deduplication keys held in the store.",
        "relay_ingest_buffered_bytes": "Request body bytes held in memory now, over all ingest requests (capped by limits.max_buffered).",
        "relay_store_commits_total": "Group commits written to the store.",
        "relay_store_committed_requests_total": "Requests written by the store's group commits.",
        "relay_store_committed_events_total": "Events written by the store's group commits.",
    ]

    /// The help text for `name`; a metric added without an entry still gets a line naming it.
    public static func text(for name: String) -> String {
        texts[name] ?? "relay metric \(name)."
    }
}
