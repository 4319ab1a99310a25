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
    let client: PostgresClient
    let logger: Logger
    let committer = GroupCommitter<WriteOperation, WriteResult>(maxGroupWeight: 2_000)
    /// Where the scan for events left without any job (no route matched) resumes.
    let orphanCursor = Mutex<Int64>(0)
    /// Sizes of the commit groups so far (requests, events), for the benchmark and metrics.
    public let groupStats = CommitGroupStats()
    /// Set once the schema is up to date, so callers can wait for it (the CLI, tests).
    private let migrated = Readiness()

    /// A store on the database `url` names (`postgres://user:password@host:5432/db?sslmode=require`). Nothing
    /// connects until `run()`.
    public init(url: String, logger: Logger = Logger(label: "relay.store")) throws(StoreError) {
        self.logger = logger
        client = PostgresClient(configuration: try PostgresConnectionURL.configuration(url), backgroundLogger: logger)
    }

    /// Runs the client's pool and, once the schema is migrated, the group-commit writer, until graceful shutdown or
    /// cancellation. On graceful shutdown the writer first commits what was queued, then the connections close: the
    /// two run as a nested `ServiceGroup`, which stops them in reverse order.
    public func run() async throws {
        let writer = Writer(store: self)
        // The writer ends after a close() too: then the client is shut down gracefully, not as a failure.
        let group = ServiceGroup(configuration: .init(services: [
            .init(service: client),
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
                    await committer.runWriter({ operations in try await store.write(operations) }, onGroup: { stats.record($0) })
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
        guard migrated.isOpen else { return false }
        do {
            try await client.query("""
                INSERT INTO meta (key, value) VALUES ('ready_probe', \(Timestamp.nowMilliseconds()))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: logger)
            return true
        } catch {
            return false
        }
    }

    public func expireDedupKeys(nowMilliseconds now: Int64, limit: Int) async throws(StoreError) -> Int {
        try await count("""
            WITH gone AS (
                DELETE FROM dedup_keys WHERE (source_id, event_id) IN
                    (SELECT source_id, event_id FROM dedup_keys WHERE expires_at <= \(now) LIMIT \(limit))
                RETURNING 1)
            SELECT count(*) FROM gone
            """)
    }

    /// Runs a statement answering one count (`SELECT count(*) FROM changed`).
    func count(_ query: PostgresQuery) async throws(StoreError) -> Int {
        try await withClient { client, logger in
            var total = 0
            for try await n in try await client.query(query, logger: logger).decode(Int.self) { total += n }
            return total
        }
    }

    /// Runs `body` with the client once the schema is up to date, turning what it throws into a `StoreError`.
    func withClient<T: Sendable>(_ body: (PostgresClient, Logger) async throws -> T) async throws(StoreError) -> T {
        try await waitUntilReady()
        do {
            return try await body(client, logger)
        } catch {
            throw StoreError("cannot query the store", postgres: error)
        }
    }

    /// Runs `body` in one transaction, once the schema is up to date.
    func transaction<T: Sendable>(_ body: (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        try await waitUntilReady()
        do {
            let logger = logger
            return try await client.withTransaction(logger: logger) { connection in try await body(connection, logger) }
        } catch {
            throw StoreError("cannot write", postgres: error)
        }
    }
}
