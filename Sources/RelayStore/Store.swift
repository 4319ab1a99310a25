import RelayCore

/// Durable storage for events, their dedup keys and their delivery jobs.
/// The SQLite implementation is the embedded default; a PostgreSQL one can follow behind the same protocol.
public protocol Store: Sendable {
    /// Stores one request's events: for each, the dedup check-and-insert, the event and one job per
    /// destination happen in one committed (fsync'd) transaction. Returns, per event, whether it was new.
    func ingest(_ request: IngestRequest) async throws(StoreError) -> [Bool]
    /// Whether a write can commit now (for `/readyz`).
    func isWritable() async -> Bool
    /// Deletes dedup keys whose window has passed, at most `limit`; returns how many.
    func expireDedupKeys(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> Int
    /// Stops accepting writes and closes the database.
    func close() async
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

/// The store could not do what was asked; ingest answers 503 so the provider retries.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
