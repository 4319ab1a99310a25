import Foundation
import GRDB
import Logging
import ServiceLifecycle
import RelayCore
import Synchronization

/// The embedded store: SQLite in WAL mode with `synchronous = FULL` and one writer.
///
/// Ingest, job claims and attempt outcomes all go through one queue: each commit (and its fsync) takes
/// everything queued while the previous one ran, so the dispatcher's bookkeeping rides on ingest's fsyncs
/// instead of competing with them for the writer.
public final class SQLiteStore: GroupCommittingStore {
    let pool: DatabasePool
    let path: String
    let committer = GroupCommitter<WriteOperation, WriteResult>(maxGroupWeight: 2_000)
    /// Where the scan for events left without any job (no route matched) resumes.
    let orphanCursor = Mutex<Int64>(0)
    private let logger: Logger
    /// A second connection that copies committed WAL pages into the database file, beside the writer.
    ///
    /// Left to the writer alone, a checkpoint runs inside whichever commit crosses the WAL's size limit, and that
    /// commit's requests wait for it: after a long read (counting a million jobs) kept the WAL from being reused, it
    /// copied thousands of pages and held one group's acks for 0.25-0.5 s. A passive checkpoint on its own connection
    /// never takes the write lock, so commits go on while it copies and fsyncs the database file.
    private let checkpointer: DatabaseQueue?
    /// How often the checkpointer runs; a run with nothing to copy costs a read of the WAL index.
    static let checkpointInterval: Duration = .milliseconds(100)
    /// The WAL size (pages of 4 KiB) past which the writer checkpoints after a commit (SQLite's default is 1,000).
    static let writerCheckpointPages = 8_192
    /// Sizes of the commit groups so far (requests, events), for the benchmark and metrics.
    public let groupStats = CommitGroupStats()

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String, readOnly: Bool = false, logger: Logger = Logger(label: "relay.store")) throws(StoreError) {
        self.path = path
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty && !readOnly {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            var config = Configuration()
            config.readonly = readOnly
            // Another relay process or the CLI may hold the write lock for a moment.
            config.busyMode = .timeout(5)
            config.prepareDatabase { db in
                if !db.configuration.readonly {
                    try db.execute(sql: "PRAGMA synchronous = FULL")
                    // The writer keeps the pages it just wrote (recent events, their jobs, the indexes' right edges)
                    // for the dispatcher's claims and outcomes; the WAL is read with a pread per page otherwise.
                    try db.execute(sql: "PRAGMA cache_size = -32768")
                    // `checkpointer` copies pages in the background; the writer checkpoints only past this many WAL
                    // pages, finding them nearly all copied, to reset the WAL (a reset needs a checkpoint with no
                    // commit in between, which only the writer can count on).
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.writerCheckpointPages)")
                }
            }
            pool = try DatabasePool(path: path, configuration: config)
            if !readOnly {
                try SQLiteSchema.migrator.migrate(pool)
                var checkpointing = Configuration()
                checkpointing.busyMode = .timeout(5)
                checkpointer = try DatabaseQueue(path: path, configuration: checkpointing)
            } else {
                checkpointer = nil
            }
        } catch {
            throw StoreError("cannot open the store at \(path)", sqlite: error)
        }
        self.logger = logger
    }

    /// Runs the store's background work until a graceful shutdown or cancellation: the single writer that commits
    /// every group (ingest, claims, outcomes) and the WAL checkpointer beside it. Then what was queued is written, and
    /// the database is closed. First to start and last to stop in relay's `ServiceGroup`; ``Store/serving(_:)`` runs
    /// it for a command or a test.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    if let checkpointer { group.addTask { await self.checkpoint(checkpointer) } }
                    await self.write()
                    group.cancelAll()  // the writer is done: nothing more to checkpoint
                }
            } onGracefulShutdown: {
                self.committer.close()
            }
        } onCancel: {
            self.committer.close()
        }
        try? checkpointer?.close()
        try? pool.close()
    }

    /// Commits groups until the committer is closed and drained.
    private func write() async {
        let pool = self.pool
        let stats = groupStats
        await committer.runWriter({ operations in
            // Only a group that stores events must reach the disk before it returns (its requests are answered
            // after it). One of claims and outcomes alone skips the fsync: the next ingest commit's fsync covers
            // its WAL frames too, and losing it to a power cut only sends a job again.
            let durable = operations.contains { $0.needsFsync }
            return try await pool.writeWithoutTransaction { db in
                try Self.transaction(durable: durable, db) {
                    let results = try operations.map { try $0.apply(db) }
                    // The console's minute figures ride on the same commit: one upsert per minute row, not per request.
                    try SQLiteStore.add(MinuteTally(operations, results), db)
                    return results
                }
            }
        }, isolating: { StoreError("cannot commit", sqlite: $0).mayLieInOneItem }, onGroup: { operations in stats.record(operations) })
    }

    /// Copies committed WAL pages into the database file every ``checkpointInterval`` until cancelled.
    private func checkpoint(_ checkpointer: DatabaseQueue) async {
        var failing = false
        while true {
            do { try await Task.sleep(for: Self.checkpointInterval) } catch { return }  // closing
            do {
                try await checkpointer.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                failing = false
            } catch where Task.isCancelled {
                return  // closing: GRDB interrupts a checkpoint under way (SQLITE_INTERRUPT) or throws CancellationError
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                continue  // the writer is checkpointing now: nothing to do this round
            } catch {
                // Pages stay in the WAL meanwhile (nothing is lost); said once per run of failures.
                if !failing { logger.warning("WAL checkpoint failed; retrying", metadata: ["error": .string(SQLiteStore.describe(error))]) }
                failing = true
            }
        }
    }

    func commitError(_ error: any Error) -> StoreError { StoreError("cannot commit", sqlite: error) }

    /// One request's rows, inside the group's transaction.
    static func insert(_ request: IngestRequest, _ db: Database) throws -> [IngestOutcome] {
        let dedup = try db.cachedStatement(sql: """
            INSERT INTO dedup_keys (source_id, event_id, expires_at) VALUES (?, ?, ?)
            ON CONFLICT (source_id, event_id) DO UPDATE SET expires_at = excluded.expires_at
            WHERE dedup_keys.expires_at <= ?
            """)
        let event = try db.cachedStatement(sql: """
            INSERT INTO events (source_id, event_id, provider, type, event_time, received_at, redelivery, canonical, passthrough,
                                traceparent, tracestate)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let job = try db.cachedStatement(sql: """
            INSERT INTO jobs (event_row, destination, state, subject, attempts, next_attempt_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, 0, ?, ?, ?)
            """)
        let keyRow = try db.cachedStatement(sql: "UPDATE dedup_keys SET event_row = ? WHERE source_id = ? AND event_id = ?")
        let now = request.receivedAtMilliseconds
        var results: [IngestOutcome] = []
        results.reserveCapacity(request.events.count)
        for item in request.events {
            let e = item.event
            try dedup.execute(arguments: [request.sourceID, e.id, request.dedupExpiresAtMilliseconds, now])
            guard db.changesCount == 1 else {
                // An overdue event stored before (by another scan) still ends the wait it was emitted for.
                if let report = e.status, report.kind == .overdue { try SQLiteLedger.endWait(request.sourceID, report.messageID, db) }
                results.append(.duplicate)
                continue
            }
            // The ledger is read and written here, in the one writer's transaction: no other write comes between.
            let progress = try e.status.map { report in try SQLiteLedger.record(report, of: e, in: request, db) }
            try event.execute(arguments: [
                request.sourceID, e.id, request.provider.rawValue, e.type, e.eventTime, now, e.redelivery,
                Data(progress.map(e.canonical(with:)) ?? e.canonical), item.keepPassthrough ? Data(e.passthrough) : nil,
                request.traceContext?.traceparent, request.traceContext?.tracestate,
            ])
            let row = db.lastInsertedRowID
            try keyRow.execute(arguments: [row, request.sourceID, e.id])
            for destination in item.jobDestinations(progress) {
                // An ordered job waits, held, while an earlier one of its subject is unfinished.
                let subject = item.orderedSubject(for: destination, in: request)
                let state = try subject.map { try SQLiteOrdering.open($0, db) ? "pending" : "held" } ?? "pending"
                try job.execute(arguments: [row, destination, state, subject?.subject, now, now, now])
            }
            results.append(IngestOutcome(isNew: true, progress: progress))
        }
        return results
    }

    public func isWritable() async -> Bool {
        do {
            try await pool.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('ready_probe', ?)", arguments: [Timestamp.nowMilliseconds()])
            }
            return true
        } catch {
            return false
        }
    }

    public func expireDedupKeys(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> Int {
        try await expire("dedup_keys", key: "source_id, event_id", nowMilliseconds: nowMilliseconds, limit: limit)
    }

    /// Deletes at most `limit` rows of `table` (named by its `key` columns) whose `expires_at` has passed.
    func expire(_ table: String, key: String, nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> Int {
        try await write { db in
            try db.execute(sql: """
                DELETE FROM \(table) WHERE (\(key)) IN (SELECT \(key) FROM \(table) WHERE expires_at <= ? LIMIT ?)
                """, arguments: [nowMilliseconds, limit])
            return db.changesCount
        }
    }

    /// Runs `body` in one immediate transaction, committed with an fsync only when `durable`. The statements that set
    /// the mode and frame the transaction are prepared once per connection (cached), not parsed again per commit: at
    /// one request per commit, parsing them was 3.5 % of an ingest request's instructions.
    static func transaction<T>(durable: Bool, _ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL").execute()
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            // A failed COMMIT leaves the transaction open too (SQLITE_BUSY, a full disk): nothing of it stays.
            if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
            throw error
        }
    }

    /// A write outside the ingest path (dispatcher bookkeeping, maintenance): losing it to a power cut only
    /// means a job is tried again, so it skips the fsync that ingest commits pay.
    func write<T: Sendable>(durable: Bool = false, _ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.writeWithoutTransaction { db in
                defer { try? db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute() }
                return try Self.transaction(durable: durable, db) { try body(db) }
            }
        } catch {
            throw StoreError("cannot write", sqlite: error)
        }
    }

    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError("cannot read", sqlite: error)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let db = error as? DatabaseError {
            return db.message ?? "\(db.resultCode)"
        }
        return "\(error)"
    }
}
