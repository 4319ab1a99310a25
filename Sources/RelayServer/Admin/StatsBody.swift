import RelayCore
import RelayDispatch
import RelayStore

/// `GET /admin/stats` and `relay stats --json`: job counts per destination, dedup keys and events held.
public struct StatsBody: Codable, Sendable, Equatable {
    /// One destination's jobs.
    public struct Destination: Codable, Sendable, Equatable {
        public var destination: String
        public var pending: Int
        /// Of `pending`, the jobs waiting behind their subject's head (ordered destinations).
        public var held: Int = 0
        public var inFlight: Int
        public var dead: Int
        public var delivered: Int
        /// Age of the oldest pending job, to the millisecond; null when none is pending.
        public var oldestPendingSeconds: Double?
        /// `closed`, `open`, `half_open` or `paused`, and since when (SPEC section 12); null where not known.
        public var state: String?
        public var stateSince: String?
        public var pausedUntil: String?

        enum CodingKeys: String, CodingKey {
            case destination, pending, held, inFlight = "in_flight", dead, delivered, oldestPendingSeconds = "oldest_pending_seconds"
            case state, stateSince = "state_since", pausedUntil = "paused_until"
        }

        // Written by hand so an absent age is `null`, as before, rather than a missing key.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(destination, forKey: .destination)
            try container.encode(pending, forKey: .pending)
            try container.encode(held, forKey: .held)
            try container.encode(inFlight, forKey: .inFlight)
            try container.encode(dead, forKey: .dead)
            try container.encode(delivered, forKey: .delivered)
            try container.encode(oldestPendingSeconds, forKey: .oldestPendingSeconds)
            try container.encode(state, forKey: .state)
            try container.encode(stateSince, forKey: .stateSince)
            try container.encode(pausedUntil, forKey: .pausedUntil)
        }
    }

    public var destinations: [Destination]
    public var dedupKeys: Int
    public var events: Int

    enum CodingKeys: String, CodingKey { case destinations, dedupKeys = "dedup_keys", events }

    /// The body for `stats`.
    public init(_ stats: StoreStats, states: [String: DestinationState] = [:]) {
        destinations = stats.destinations.map { d in
            let state = states[d.destination]
            return Destination(destination: d.destination, pending: d.pending, held: d.held, inFlight: d.inFlight, dead: d.dead, delivered: d.delivered,
                               oldestPendingSeconds: d.oldestPendingSeconds.map { ($0 * 1000).rounded() / 1000 }, state: state?.state,
                               stateSince: state.map { Timestamp.format(epochMilliseconds: $0.sinceMilliseconds) },
                               pausedUntil: state?.untilMilliseconds.map { Timestamp.format(epochMilliseconds: $0) })
        }
        dedupKeys = stats.dedupKeys
        events = stats.events
    }
}
