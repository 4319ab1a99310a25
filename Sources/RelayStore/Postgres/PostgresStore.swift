import Logging
import PostgresNIO
import RelayCore
import ServiceLifecycle
import Synchronization

/// The shared store: any number of relay instances on one PostgreSQL database, through `PostgresClient`'s pool.
///
/// Ingests, claims and outcomes go through one `GroupCommitter`, as on SQLite: each transaction takes everything
/// queued while the previous one ran, with one statement per kind of row (arrays through `unnest`), so a busy edge
/// pays one commit per group, not per request. Dedup across instances rests on the dedup key's primary key, checked
/// and inserted in the transaction that stores the event and its jobs.
///
/// `run()` owns the background work (the client's connections and the group-commit writer) and must be running for
/// any call to be answered.
public final class PostgresStore: GroupCommittingStore, Service {
    /// The pool, renewed when it lags behind a database that answers again (see `RenewablePool`).
    let pool: RenewablePool
    /// The pool in use now.
    var client: PostgresClient { pool.current }
    /// One connection outside the pool, for the probe.
    let direct: PostgresConnection.Configuration?
    let logger: Logger
    let committer = GroupCommitter<WriteOperation, WriteResult>(maxGroupWeight: 2_000)
    /// Where the scan for events left without any job (no route matched) resumes.
    let orphanCursor = Mutex<Int64>(0)
    /// Sizes of the commit groups so far (requests, events), for the benchmark and metrics.
    public let groupStats = CommitGroupStats()
    /// Set once the schema is up to date, so callers can wait for it (the CLI, tests).
    let migrated = Readiness()
    /// Whether the database answers now; while it does not, calls fail at once (see `Availability`).
    let availability = Availability()
    /// The longest a query may take (a connection, then the answer) before the database counts as unreachable.
    static let deadline: Duration = .seconds(5)
    /// The same for a group commit, whose requests' answers wait on it: a group takes milliseconds even under load.
    static let commitDeadline: Duration = .seconds(2)
    /// The longest the pool may take to hand over a connection: it does not fail a request while it cannot connect
    /// (it waits up to a minute), so this is how an outage is noticed.
    static let leaseDeadline: Duration = .seconds(1)
    /// How often an unreachable database is tried again.
    static let probeInterval: Duration = .milliseconds(250)
    /// The channel new jobs are announced on (`NOTIFY`), payload the destination's id.
    static let jobsChannel = "relay_jobs"

    /// Whose clock judges leases, lapses and due times (SPEC section 9).
    public enum JobClock: Sendable {
        /// PostgreSQL's `now()`: one clock for every instance, so one whose wall clock is minutes off never takes
        /// another's live claim and delays nothing. What relay runs with.
        case database
        /// The times the caller passes (the store contract's tests, which play with time).
        case caller
    }

    /// Whose clock judges leases and due times.
    public let jobClock: JobClock

    /// A store on the database `url` names (`postgres://user:password@host:5432/db?sslmode=require`). Nothing
    /// connects until `run()`.
    public init(url: String, jobClock: JobClock = .database, logger: Logger = Logger(label: "relay.store")) throws(StoreError) {
        self.jobClock = jobClock
        self.logger = logger
        pool = RenewablePool(configuration: try PostgresConnectionURL.configuration(url), logger: logger)
        direct = try? PostgresConnectionURL.directConfiguration(url)
    }

    /// Runs the client's pool and, once the schema is migrated, the group-commit writer, until graceful shutdown or
    /// cancellation. On graceful shutdown the writer first commits what was queued, then the connections close: the
    /// two run as a nested `ServiceGroup`, which stops them in reverse order.
    public func run() async throws {
        let writer = Writer(store: self)
        // The writer ends after a close() too: then the client is shut down gracefully, not as a failure.
        let group = ServiceGroup(configuration: .init(services: [
            .init(service: pool),
            .init(service: writer, successTerminationBehavior: .gracefullyShutdownGroup),
        ], logger: logger))
        try await group.run()
    }

    /// Waits until `run()` has brought the schema up to date; throws if the store closed first.
    public func waitUntilReady() async throws(StoreError) {
        guard await migrated.wait() else { throw StoreError.closed }
    }

    /// Stops accepting writes; `run()` returns once what was queued is committed.
    public func close() async {
        committer.close()
        migrated.close()
    }

    /// The group-commit writer, as the second service of `run()`'s group (started after the client, stopped before it).
    struct Writer: Service {
        let store: PostgresStore

        func run() async throws {
            let committer = store.committer
            let applied: [String]
            do {
                guard await store.pool.started.wait() else { throw StoreError.closed }
                applied = try await PostgresSchema.migrate(store.client, logger: store.logger)
            } catch {
                committer.close()
                store.migrated.close()
                throw StoreError("cannot migrate the schema", postgres: error)
            }
            if !applied.isEmpty { store.logger.info("store schema migrated", metadata: ["store.migrations": .string(applied.joined(separator: ","))]) }
            store.migrated.open()
            let stats = store.groupStats
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await store.probeWhileDown() }
                        await committer.runWriter(
                            { operations in try await store.guardedWrite(operations) },
                            isolating: { store.commitError($0).mayLieInOneItem }, onGroup: { stats.record($0) })
                        group.cancelAll()
                    }
                } onCancel: {
                    committer.close()
                }
            } onGracefulShutdown: {
                committer.close()
            }
            store.migrated.close()
        }
    }

    func commitError(_ error: any Error) -> StoreError { StoreError("cannot commit", postgres: error) }

    public func isWritable() async -> Bool {
        // Not before the schema is there (nor after close): a probe must not wait for a start-up.
        guard migrated.isOpen, availability.outage == nil else { return false }
        do {
            try await withClient { connection, logger in
                for try await _ in try await connection.query("""
                    INSERT INTO meta (key, value) VALUES ('ready_probe', \(Timestamp.nowMilliseconds()))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    """, logger: logger) {}
            }
            return true
        } catch {
            return false
        }
    }

    public func expireDedupKeys(nowMilliseconds now: Int64, limit: Int) async throws(StoreError) -> Int {
        try await expire("dedup_keys", key: "source_id, event_id", nowMilliseconds: now, limit: limit)
    }

    /// Deletes at most `limit` rows of `table` (named by its `key` columns, both constants) whose `expires_at` passed.
    func expire(_ table: String, key: String, nowMilliseconds now: Int64, limit: Int) async throws(StoreError) -> Int {
        try await count("""
            WITH gone AS (
                DELETE FROM \(unescaped: table) WHERE (\(unescaped: key)) IN
                    (SELECT \(unescaped: key) FROM \(unescaped: table) WHERE expires_at <= \(now) LIMIT \(limit))
                RETURNING 1)
            SELECT count(*) FROM gone
            """)
    }

    /// Runs a statement answering one count (`SELECT count(*) FROM changed`).
    func count(_ query: PostgresQuery) async throws(StoreError) -> Int {
        try await withClient { connection, logger in
            var total = 0
            for try await n in try await connection.query(query, logger: logger).decode(Int.self) { total += n }
            return total
        }
    }

    /// Runs `body` on a connection of the pool once the schema is up to date, within the deadlines, turning what it
    /// throws into a `StoreError`; at once `unavailable` while the database is known to be unreachable.
    func withClient<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        try await reachable("cannot query the store") { [logger] connection in try await body(connection, logger) }
    }

    /// Runs `body` in one transaction, as `withClient` does.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        try await reachable("cannot write") { [logger] connection in
            try await connection.withTransaction(logger: logger) { connection in try await body(connection, logger) }
        }
    }

    /// Runs `body` on a leased connection, after the schema is there and only while the database answers, within
    /// `leaseDeadline` for the lease and `deadline` in all; what it throws becomes a `StoreError` (doing `context`),
    /// and an unreachable database is noted for the probe.
    func reachable<T: Sendable>(_ context: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(StoreError) -> T {
        try await waitUntilReady()
        if let outage = availability.outage { throw StoreError(.unavailable, context, cause: outage) }
        do {
            return try await leased(context, body)
        } catch {
            let failure = StoreError(context, postgres: error)
            noteOutage(failure)
            throw failure
        }
    }

    /// `body` on a connection of the pool, bounded twice: the pool must hand one over within `leaseDeadline` (it waits
    /// for a connection it cannot make rather than failing, and a healthy pool hands one over in microseconds), and
    /// the whole must end within `deadline`.
    func leased<T: Sendable>(
        _ context: String, deadline: Duration = PostgresStore.deadline, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let lease = LeaseFlag()
        return try await withDeadline(deadline, context, leaseDeadline: Self.leaseDeadline, leased: lease) { [client] in
            try await client.withConnection { connection in
                lease.set(connection)
                return try await body(connection)
            }
        }
    }

    /// A group commit, as `reachable` runs a query: failed at once while the database is unreachable.
    func guardedWrite(_ operations: [WriteOperation]) async throws -> [WriteResult] {
        if let outage = availability.outage { throw StoreError(.unavailable, "cannot commit", cause: outage) }
        do {
            return try await leased("cannot commit", deadline: Self.commitDeadline) { connection in try await self.write(operations, on: connection) }
        } catch {
            noteOutage(commitError(error))
            throw error
        }
    }

    private func noteOutage(_ error: StoreError) {
        if availability.record(error) {
            logger.error("PostgreSQL is unreachable; ingest answers 503 and deliveries wait until it answers", metadata: ["error": .string(error.message)])
        }
    }

    /// Whether a connection outside the pool gets an answer to `SELECT 1` within a second.
    func answersDirectly() async -> Bool {
        guard let direct else { return false }
        let logger = logger
        do {
            return try await withDeadline(.seconds(2), "cannot reach PostgreSQL", leaseDeadline: .seconds(2), leased: LeaseFlag()) {
                let connection = try await PostgresConnection.connect(configuration: direct, id: 0, logger: logger)
                defer { connection.close().whenComplete { _ in } }
                for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                return true
            }
        } catch {
            return false
        }
    }

    /// While the database is unreachable, tries it every `probeInterval` and marks it up when it answers.
    func probeWhileDown() async {
        while !Task.isCancelled {
            if availability.outage != nil {
                let answered: StoreError?
                do {
                    try await leased("cannot reach PostgreSQL", deadline: Self.commitDeadline) { [logger] connection in
                        for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                    }
                    answered = nil
                } catch {
                    answered = StoreError("cannot reach PostgreSQL", postgres: error)
                    // The pool may still be backing off (up to a minute) from an outage that is over: a connection of
                    // our own says whether it is, and if so a new pool connects at once.
                    if await answersDirectly() {
                        pool.renewNow()
                        logger.notice("PostgreSQL answers again but the pool was still waiting to reconnect; the pool was renewed")
                    }
                }
                if answered.map({ $0.kind != .unavailable }) ?? true, availability.record(nil) {
                    logger.notice("PostgreSQL answers again; ingest and deliveries resume")
                }
            }
            try? await Task.sleep(for: Self.probeInterval)
        }
    }
}
