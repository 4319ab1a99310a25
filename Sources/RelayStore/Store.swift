import RelayCore
import ServiceLifecycle

/// Durable storage for events, their dedup keys and their delivery jobs.
/// `SQLiteStore` is the embedded default; `PostgresStore` lets several instances share one database. A store is a
/// `Service`: its background work (writers, pools) runs inside `run()`, first to start and last to stop.
public protocol Store: Service {
    /// Runs the store beside `body` and stops it when `body` is done (see the extension's default).
    func serving<T: Sendable>(_ body: () async throws -> T) async throws -> T
    /// Stores one request's events: for each, the dedup check-and-insert, its message's ledger (a status event), the
    /// event and one job per destination happen in one committed (fsync'd) transaction. Returns, per event, whether it
    /// was new and, for a new status event, its progress.
    func ingestEvents(_ request: IngestRequest) async throws(StoreError) -> [IngestOutcome]
    /// Whether a write can commit now (for `/readyz`).
    func isWritable() async -> Bool
    /// Deletes dedup keys whose window has passed, at most `limit`; returns how many.
    func expireDedupKeys(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> Int

    // MARK: Delivery controls (SPEC section 12)

    /// Pauses a destination on every instance sharing the store, until `untilMilliseconds` (nil: until resumed); a
    /// pause already in place takes the new end. Committed durably: it survives restarts.
    func pause(destination: String, untilMilliseconds: Int64?, nowMilliseconds: Int64) async throws(StoreError)
    /// Ends a destination's pause; returns whether it was paused.
    func resume(destination: String, nowMilliseconds: Int64) async throws(StoreError) -> Bool
    /// The pauses in force at `nowMilliseconds`.
    func pauses(nowMilliseconds: Int64) async throws(StoreError) -> [DestinationPause]
    /// The version of the pauses: every pause and resume raises it, in its own transaction.
    func pauseVersion() async throws(StoreError) -> Int64
    /// Records that `instance` obeys the pauses of `version` and was alive at `nowMilliseconds`.
    func acknowledgePauses(instance: String, version: Int64, nowMilliseconds: Int64) async throws(StoreError)
    /// The last acknowledgement of each instance seen alive within `withinMilliseconds` of now (by the store's clock).
    func pauseAcknowledgements(withinMilliseconds: Int64, nowMilliseconds: Int64) async throws(StoreError) -> [PauseAcknowledgement]

    // MARK: The receipt ledger (SPEC section 10)

    /// The ledger of one message; nil when the store holds none.
    func message(sourceID: String, messageID: String) async throws(StoreError) -> MessageRecord?
    /// The ledgers of every source's message with this id (at most a few: ids are the providers').
    func messages(messageID: String) async throws(StoreError) -> [MessageRecord]
    /// Messages whose overdue deadline is at or before `nowMilliseconds`, earliest first, at most `limit` (an index
    /// range: the scan never reads a message that is not due). Storing their `delivery.overdue` clears the deadline.
    func dueOverdue(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> [OverdueMessage]
    /// Registers deliveries the backend expects (SPEC section 10a), in one committed (fsync'd) transaction: a key not
    /// held yet waits until its deadline; a key whose message already reached past `sent` is met at once; a key
    /// already waited for keeps its first deadline (registering twice is one expectation).
    func expect(_ request: ExpectationRequest) async throws(StoreError) -> ExpectationResult
    /// Deletes ledgers whose `message_window` has passed, at most `limit`; returns how many.
    func expireMessages(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> Int

    // MARK: Delivery jobs

    /// Claims up to `limit` of `destination`'s jobs that are due, or whose claim lapsed (an instance that died holding
    /// them), and returns them with their bodies. Each claim draws a new lease token and holds the jobs until
    /// `nowMilliseconds + leaseMilliseconds`; no other claim takes them before that.
    func claimDue(destination: String, nowMilliseconds: Int64, limit: Int, leaseMilliseconds: Int64) async throws(StoreError) -> [DeliveryJob]
    /// When `destination` next has a job to claim: the earliest `next_attempt_at` among its pending jobs, or the
    /// earliest lapse among its claimed ones.
    func nextDue(destination: String) async throws(StoreError) -> Int64?
    /// Records finished attempts, all in one transaction, each only if its claim is still the job's latest (fenced);
    /// returns how many were refused for that.
    @discardableResult
    func complete(_ outcomes: [JobOutcome], nowMilliseconds: Int64) async throws(StoreError) -> Int
    /// Puts claimed jobs that were never attempted back to pending, their schedule and last result unchanged (only
    /// those still held under these claims).
    func release(_ claims: [JobClaim], nowMilliseconds: Int64) async throws(StoreError)
    /// Takes (or keeps) the turn named `name` for `holder` until `nowMilliseconds + holdMilliseconds`, when no other
    /// holder has it now; returns whether `holder` has it. Housekeeping runs on one instance at a time through this.
    func takeTurn(_ name: String, holder: String, nowMilliseconds: Int64, holdMilliseconds: Int64) async throws(StoreError) -> Bool
    /// Calls `wake` with a destination's id whenever another process stores jobs for it or makes some due at once
    /// (PostgreSQL `LISTEN`/`NOTIFY`), with nil when some may have been missed (a reconnect); returns on cancellation
    /// or graceful shutdown. A store that cannot tell returns at once, leaving the poll to find them.
    func watchJobs(_ wake: @escaping @Sendable (String?) -> Void) async
    /// Per-destination counts and the dedup keys held; the events stored too when `countingEvents` (a scan of every
    /// event: the metric gauges, taken every few seconds, leave it out and get 0).
    func stats(nowMilliseconds: Int64, countingEvents: Bool) async throws(StoreError) -> StoreStats
    /// Dead letters, oldest first; with `since`/`until`, those that failed in `[since, until)` (milliseconds); with
    /// `type`, those whose event's canonical type matches that glob (`*`, `?`, as ``Glob``). The type is matched in the
    /// query, before `limit`: a filter applied to a page afterwards shows fewer than there are.
    func deadLetters(destination: String?, sinceMilliseconds: Int64?, untilMilliseconds: Int64?, type: String?, limit: Int) async throws(StoreError) -> [DeadLetter]
    /// One stored event with its jobs, found by its source and id; nil when the store holds none (never stored, or
    /// pruned after delivery).
    func event(sourceID: String, eventID: String) async throws(StoreError) -> EventDetail?
    /// Moves dead letters (all, or these ids; optionally of one destination) back to pending with a fresh schedule.
    func replay(ids: [Int64]?, destination: String?, nowMilliseconds: Int64) async throws(StoreError) -> Int
    /// Deletes delivered jobs finished before `cutoff` (with their attempts) and events with no job left; at most
    /// `limit` of each.
    func prune(finishedBeforeMilliseconds cutoff: Int64, limit: Int) async throws(StoreError) -> Int

    // MARK: Minute counts (SPEC section 17)

    /// The minute figures from `sinceMinute` on (summed over the instances that wrote them), in minute order; the
    /// ledger's (`status:` measures) left out: ``ledgerTotals(sinceMinute:)`` reads those.
    func minuteCounts(sinceMinute: Int64) async throws(StoreError) -> [MinuteCount]
    /// The ledger's flows (`status:` measures) from `sinceMinute` on, summed by the store per source and status: one
    /// row each, stamped `sinceMinute` (a day of them is some 26,000 minute rows with three ledger sources).
    func ledgerTotals(sinceMinute: Int64) async throws(StoreError) -> [MinuteCount]
    /// Sets each destination's pending backlog (pending and in-flight jobs) for the minute of `nowMilliseconds`.
    func sampleBacklog(_ pending: [String: Int], nowMilliseconds: Int64) async throws(StoreError)
    /// Deletes minute figures older than `beforeMinute`; returns how many.
    func pruneMinuteCounts(beforeMinute: Int64) async throws(StoreError) -> Int
}

/// One verified request's events and where each must go.
public struct IngestRequest: Sendable {
    public struct Event: Sendable {
        public var event: IncomingEvent
        /// Destination ids the routes name for this event (resolved at store time).
        public var destinations: [String]
        /// Destinations that get the event only if it advances its message (`advancing_only` routes).
        public var advancingDestinations: [String]
        /// Whether any of those destinations wants the provider's own format.
        public var keepPassthrough: Bool

        public init(event: IncomingEvent, destinations: [String], advancingDestinations: [String] = [], keepPassthrough: Bool) {
            self.event = event
            self.destinations = destinations
            self.advancingDestinations = advancingDestinations
            self.keepPassthrough = keepPassthrough
        }

        /// The subject of the job for `destination`: the event's subject if that destination orders by it, else nil.
        public func orderedSubject(for destination: String, in request: IngestRequest) -> SubjectKey? {
            guard let subject = event.subject, !request.orderedDestinations.isEmpty, request.orderedDestinations.contains(destination) else { return nil }
            return SubjectKey(destination: destination, subject: subject)
        }

        /// The destinations that get a job, given the event's progress.
        public func jobDestinations(_ progress: MessageProgress?) -> [String] {
            guard progress?.advanced == true, !advancingDestinations.isEmpty else { return destinations }
            return destinations + advancingDestinations.filter { !destinations.contains($0) }
        }
    }

    public var sourceID: String
    public var provider: ProviderKind
    public var receivedAtMilliseconds: Int64
    /// When the dedup keys written now stop counting.
    public var dedupExpiresAtMilliseconds: Int64
    /// When the ledgers of the messages these events are about may be forgotten (`message_window` from now).
    public var messageExpiresAtMilliseconds: Int64
    /// The source's `expect_receipt`: a message first seen now and not past `sent` is overdue after it.
    public var expectReceiptMilliseconds: Int64?
    public var events: [Event]
    /// Destinations that order their jobs by subject (`ordering: subject`): a job of an event with a subject is held
    /// while an earlier one of that subject is unfinished.
    public var orderedDestinations: [String]
    /// The trace of the request these events came in (SPEC section 15), stored with each of them; nil with tracing off.
    public var traceContext: StoredTraceContext?

    public init(sourceID: String, provider: ProviderKind, receivedAtMilliseconds: Int64, dedupExpiresAtMilliseconds: Int64,
                messageExpiresAtMilliseconds: Int64? = nil, expectReceiptMilliseconds: Int64? = nil, events: [Event],
                orderedDestinations: [String] = [], traceContext: StoredTraceContext? = nil) {
        self.orderedDestinations = orderedDestinations
        self.traceContext = traceContext
        self.sourceID = sourceID
        self.provider = provider
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.dedupExpiresAtMilliseconds = dedupExpiresAtMilliseconds
        self.messageExpiresAtMilliseconds = messageExpiresAtMilliseconds ?? dedupExpiresAtMilliseconds
        self.expectReceiptMilliseconds = expectReceiptMilliseconds
        self.events = events
    }
}

/// Expected deliveries of one source: keys (what the provider's receipt will echo) and how long each may take.
public struct ExpectationRequest: Sendable {
    public struct Expectation: Sendable, Equatable {
        public var key: String
        public var withinMilliseconds: Int64

        public init(key: String, withinMilliseconds: Int64) {
            self.key = key
            self.withinMilliseconds = withinMilliseconds
        }
    }

    public var sourceID: String
    public var nowMilliseconds: Int64
    /// How long the ledger keeps a message past its deadline (`message_window`).
    public var windowMilliseconds: Int64
    public var expectations: [Expectation]

    public init(sourceID: String, nowMilliseconds: Int64, windowMilliseconds: Int64, expectations: [Expectation]) {
        self.sourceID = sourceID
        self.nowMilliseconds = nowMilliseconds
        self.windowMilliseconds = windowMilliseconds
        self.expectations = expectations
    }

    /// One expectation per key (the first), in key order: the order both stores lock rows in.
    var distinct: [Expectation] {
        var seen = Set<String>()
        return expectations.filter { seen.insert($0.key).inserted }.sorted { $0.key < $1.key }
    }
}

/// `{"registered": n, "already_met": m}`.
public struct ExpectationResult: Sendable, Equatable {
    public var registered: Int
    public var alreadyMet: Int

    public init(registered: Int, alreadyMet: Int) {
        self.registered = registered
        self.alreadyMet = alreadyMet
    }
}

/// An instance's word that it obeys the pauses up to `version` (SPEC section 12: a pause is in force on every
/// instance when its command returns).
public struct PauseAcknowledgement: Sendable, Equatable {
    public var instance: String
    public var version: Int64
    public var seenAtMilliseconds: Int64

    public init(instance: String, version: Int64, seenAtMilliseconds: Int64) {
        self.instance = instance
        self.version = version
        self.seenAtMilliseconds = seenAtMilliseconds
    }
}

/// A destination's pause: since when, and until when (nil: until resumed).
public struct DestinationPause: Sendable, Equatable {
    public var destination: String
    public var sinceMilliseconds: Int64
    public var untilMilliseconds: Int64?

    public init(destination: String, sinceMilliseconds: Int64, untilMilliseconds: Int64?) {
        self.destination = destination
        self.sinceMilliseconds = sinceMilliseconds
        self.untilMilliseconds = untilMilliseconds
    }
}

/// A stored event and, per destination, where its delivery stands (`GET /admin/events/<source>/<id>`).
public struct EventDetail: Sendable, Equatable {
    public struct Job: Sendable, Equatable {
        public var id: Int64
        public var destination: String
        public var state: String
        public var attempts: Int
        public var nextAttemptAtMilliseconds: Int64
        public var updatedAtMilliseconds: Int64
        public var lastStatus: Int?
        public var lastError: String?
        public var lastResponse: String?
        /// Every attempt made, oldest first.
        public var history: [StoredAttempt]

        public init(id: Int64, destination: String, state: String, attempts: Int, nextAttemptAtMilliseconds: Int64,
                    updatedAtMilliseconds: Int64, lastStatus: Int?, lastError: String?, lastResponse: String?, history: [StoredAttempt] = []) {
            self.id = id
            self.history = history
            self.destination = destination
            self.state = state
            self.attempts = attempts
            self.nextAttemptAtMilliseconds = nextAttemptAtMilliseconds
            self.updatedAtMilliseconds = updatedAtMilliseconds
            self.lastStatus = lastStatus
            self.lastError = lastError
            self.lastResponse = lastResponse
        }
    }

    public var sourceID: String
    public var eventID: String
    public var type: String
    public var receivedAtMilliseconds: Int64
    public var canonical: [UInt8]
    public var jobs: [Job]

    public init(sourceID: String, eventID: String, type: String, receivedAtMilliseconds: Int64, canonical: [UInt8], jobs: [Job]) {
        self.sourceID = sourceID
        self.eventID = eventID
        self.type = type
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.canonical = canonical
        self.jobs = jobs
    }
}

/// What storing one event came to.
public struct IngestOutcome: Sendable, Equatable {
    /// False for a duplicate (nothing was stored).
    public var isNew: Bool
    /// For a new status event, whether it advanced its message; nil for a duplicate or an event outside the ledger.
    public var progress: MessageProgress?

    public init(isNew: Bool, progress: MessageProgress? = nil) {
        self.isNew = isNew
        self.progress = progress
    }

    public static let duplicate = IngestOutcome(isNew: false)
}

extension Store {
    /// Stores one request's events (``ingestEvents(_:)``); per event, whether it was new.
    public func ingest(_ request: IngestRequest) async throws(StoreError) -> [Bool] {
        try await ingestEvents(request).map(\.isNew)
    }

    /// A claim held for a minute: for tools and tests (the dispatcher asks for its destination's timeout plus
    /// `store.lease`).
    public func claimDue(destination: String, nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> [DeliveryJob] {
        try await claimDue(destination: destination, nowMilliseconds: nowMilliseconds, limit: limit, leaseMilliseconds: 60_000)
    }

    /// Dead letters, oldest first.
    public func deadLetters(destination: String?, limit: Int) async throws(StoreError) -> [DeadLetter] {
        try await deadLetters(destination: destination, sinceMilliseconds: nil, untilMilliseconds: nil, type: nil, limit: limit)
    }

    /// Dead letters of any type, oldest first, that failed in `[since, until)`.
    public func deadLetters(destination: String?, sinceMilliseconds: Int64?, untilMilliseconds: Int64?, limit: Int) async throws(StoreError) -> [DeadLetter] {
        try await deadLetters(destination: destination, sinceMilliseconds: sinceMilliseconds, untilMilliseconds: untilMilliseconds, type: nil, limit: limit)
    }

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
