import RelayCore
import ServiceLifecycle

/// Durable storage for events, their dedup keys and their delivery jobs.
/// `SQLiteStore` is the embedded default; `PostgresStore` lets several instances share one database. A store is a
/// `Service`: its background work (writers, pools) runs inside `run()`, first to start and last to stop.
public protocol Store: Service {
    /// Runs the store beside `body` and stops it when `body` is done (see the extension's default).
    func serving<T: Sendable>(_ body: () async throws -> T) async throws -> T
    /// Stores one request's events: for each, the dedup check-and-insert, the event and one job per
    /// destination happen in one committed (fsync'd) transaction. Returns, per event, whether it was new.
    func ingest(_ request: IngestRequest) async throws(StoreError) -> [Bool]
    /// Whether a write can commit now (for `/readyz`).
    func isWritable() async -> Bool
    /// Deletes dedup keys whose window has passed, at most `limit`; returns how many.
    func expireDedupKeys(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> Int

    // MARK: Delivery jobs

    /// Marks up to `limit` due pending jobs of `destination` in flight and returns them with their bodies.
    func claimDue(destination: String, nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> [DeliveryJob]
    /// The earliest `next_attempt_at` among `destination`'s pending jobs.
    func nextDue(destination: String) async throws(StoreError) -> Int64?
    /// Records finished attempts, all in one transaction.
    func complete(_ outcomes: [JobOutcome], nowMilliseconds: Int64) async throws(StoreError)
    /// Puts claimed jobs that were never attempted back to pending, their schedule and last result unchanged.
    func release(jobIDs: [Int64], nowMilliseconds: Int64) async throws(StoreError)
    /// Puts jobs left in flight (by a crash or a stop) back to pending, due now; returns how many.
    func requeueInFlight(nowMilliseconds: Int64) async throws(StoreError) -> Int
    /// Per-destination counts and the dedup keys held; the events stored too when `countingEvents` (a scan of every
    /// event: the metric gauges, taken every few seconds, leave it out and get 0).
    func stats(nowMilliseconds: Int64, countingEvents: Bool) async throws(StoreError) -> StoreStats
    /// Dead letters, oldest first.
    func deadLetters(destination: String?, limit: Int) async throws(StoreError) -> [DeadLetter]
    /// Moves dead letters (all, or these ids; optionally of one destination) back to pending with a fresh schedule.
    func replay(ids: [Int64]?, destination: String?, nowMilliseconds: Int64) async throws(StoreError) -> Int
    /// Deletes delivered jobs finished before `cutoff` and events with no job left; at most `limit` of each.
    func prune(finishedBeforeMilliseconds cutoff: Int64, limit: Int) async throws(StoreError) -> Int
}

/// One verified request's events and where each must go.
public struct IngestRequest: Sendable {
    public struct Event: Sendable {
        public var event: IncomingEvent
        /// Destination ids the routes name for this event (resolved at store time).
        public var destinations: [String]
        /// Whether any of those destinations wants the provider's own format.
        public var keepPassthrough: Bool

        public init(event: IncomingEvent, destinations: [String], keepPassthrough: Bool) {
            self.event = event
            self.destinations = destinations
            self.keepPassthrough = keepPassthrough
        }
    }

    public var sourceID: String
    public var provider: ProviderKind
    public var receivedAtMilliseconds: Int64
    /// When the dedup keys written now stop counting.
    public var dedupExpiresAtMilliseconds: Int64
    public var events: [Event]

    public init(sourceID: String, provider: ProviderKind, receivedAtMilliseconds: Int64, dedupExpiresAtMilliseconds: Int64, events: [Event]) {
        self.sourceID = sourceID
        self.provider = provider
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.dedupExpiresAtMilliseconds = dedupExpiresAtMilliseconds
        self.events = events
    }
}

extension Store {
    /// Every count, events stored included (`relay stats`, `/admin/stats`).
    public func stats(nowMilliseconds: Int64) async throws(StoreError) -> StoreStats {
        try await stats(nowMilliseconds: nowMilliseconds, countingEvents: true)
    }
}

extension Store {
    /// Runs the store (its ``run()``) beside `body` and stops it when `body` returns or throws: for a command or a
    /// test that uses a store outside relay's `ServiceGroup`. Structured: nothing outlives the call. A store whose
    /// stop must let its writer finish first (PostgreSQL's) provides its own.
    public func serving<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            do {
                let result = try await body()
                group.cancelAll()
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    /// The same, handing the store to `body`.
    public func serving<T: Sendable>(_ body: (Self) async throws -> T) async throws -> T {
        try await serving { try await body(self) }
    }
}
