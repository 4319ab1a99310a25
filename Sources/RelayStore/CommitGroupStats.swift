import Metrics
import Synchronization

/// Running figures about commit groups: how many, and how many requests and events they held.
public final class CommitGroupStats: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var groups = 0
        public var requests = 0
        public var events = 0
        public var largestRequests = 0
        public var meanRequests: Double { groups == 0 ? 0 : Double(requests) / Double(groups) }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    /// Counts one commit: the ingest requests and events it held (claims and outcomes ride along uncounted).
    func record(_ operations: [WriteOperation]) {
        var requests = 0
        var events = 0
        for case .ingest(let request) in operations {
            requests += 1
            events += request.events.count
        }
        guard requests > 0 else { return }
        Counter(label: "relay_store_commits_total").increment()
        Counter(label: "relay_store_committed_requests_total").increment(by: requests)
        Counter(label: "relay_store_committed_events_total").increment(by: events)
        state.withLock {
            $0.groups += 1
            $0.requests += requests
            $0.events += events
            $0.largestRequests = max($0.largestRequests, requests)
        }
    }

    public var snapshot: Snapshot { state.withLock { $0 } }
}
