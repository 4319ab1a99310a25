import Logging
import PostgresNIO

/// The schema, as migrations applied in order and recorded in `schema_migrations`. A shipped migration is never
/// edited: add a new one.
///
/// Several relay instances may start at once against one database: the whole migration runs in one transaction
/// holding a transaction-level advisory lock, so one instance migrates and the others wait, then find it done.
enum PostgresSchema {
    struct Migration: Sendable {
        var version: String
        var sql: [PostgresQuery]
    }

    /// Any fixed number works: it only has to be the same for every relay sharing the database.
    static let migrationLockKey: Int64 = 0x7265_6C61_795F_7631  // "relay_v1"

    static let migrations: [Migration] = [
        Migration(version: "v1", sql: [
            // Times are milliseconds since the Unix epoch, as in the SQLite store: to_timestamp(received_at / 1000.0).
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT)",
            """
            CREATE TABLE events (
                id BIGSERIAL PRIMARY KEY,
                source_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                provider TEXT NOT NULL,
                type TEXT NOT NULL,
                event_time BIGINT NOT NULL,
                received_at BIGINT NOT NULL,
                redelivery BOOLEAN NOT NULL,
                canonical BYTEA NOT NULL,
                passthrough BYTEA
            )
            """,
            // The dedup key is the primary key: two transactions inserting one key cannot both commit it, whichever
            // instance they run on (a unique key, not a lock held by one process).
            """
            CREATE TABLE dedup_keys (
                source_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (source_id, event_id)
            )
            """,
            "CREATE INDEX dedup_keys_expiry ON dedup_keys (expires_at)",
            // One job per (event, destination), enforced by the database, not only by the code that inserts them.
            """
            CREATE TABLE jobs (
                id BIGSERIAL PRIMARY KEY,
                event_row BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                destination TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                last_status BIGINT,
                last_error TEXT,
                last_response TEXT,
                UNIQUE (event_row, destination)
            )
            """,
            // Partial indexes, as on SQLite: a job sits only in its state's small index, so a state change touches two.
            "CREATE INDEX jobs_pending ON jobs (destination, next_attempt_at, id) WHERE state = 'pending'",
            "CREATE INDEX jobs_in_flight ON jobs (destination) WHERE state = 'in_flight'",
            "CREATE INDEX jobs_delivered ON jobs (updated_at, destination) WHERE state = 'delivered'",
            "CREATE INDEX jobs_dead ON jobs (updated_at, destination) WHERE state = 'dead'",
        ]),
        // A claim puts a lease on its jobs (a token and when it lapses): an outcome is recorded only under the job's
        // latest token, and a lapsed claim may be taken by any instance. `turns` holds who does housekeeping now.
        Migration(version: "v2-leases", sql: [
            "ALTER TABLE jobs ADD COLUMN lease BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0",
            "DROP INDEX jobs_in_flight",
            "CREATE INDEX jobs_in_flight ON jobs (destination, lease_until) WHERE state = 'in_flight'",
            "CREATE TABLE turns (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until BIGINT NOT NULL)",
        ]),
        // The receipt ledger, as on SQLite: one row per (message id, source); `overdue_at` is set only while the
        // message is waited for, so the overdue scan walks a partial index of exactly those rows.
        Migration(version: "v3-ledger", sql: [
            """
            CREATE TABLE messages (
                source_id TEXT NOT NULL,
                message_id TEXT NOT NULL,
                status TEXT,
                rank INT NOT NULL DEFAULT 0,
                status_channel TEXT,
                channels TEXT NOT NULL DEFAULT '[]',
                history TEXT NOT NULL DEFAULT '',
                history_dropped INT NOT NULL DEFAULT 0,
                event_source TEXT,
                first_at BIGINT,
                overdue_at BIGINT,
                expect_within BIGINT,
                overdue BOOLEAN NOT NULL DEFAULT false,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (message_id, source_id)
            )
            """,
            "CREATE INDEX messages_overdue ON messages (overdue_at) WHERE overdue_at IS NOT NULL",
            "CREATE INDEX messages_expiry ON messages (expires_at)",
        ]),
        // Paused destinations (SPEC section 12), read by every instance.
        Migration(version: "v4-pauses", sql: [
            "CREATE TABLE destination_pauses (destination TEXT PRIMARY KEY, since BIGINT NOT NULL, until BIGINT)",
        ]),
        // Event lookup by source and id (the console, GET /admin/events/<source>/<id>).
        Migration(version: "v5-event-lookup", sql: [
            "CREATE INDEX events_key ON events (source_id, event_id)",
        ]),
        // Each instance's word that it obeys the pauses up to a version (`meta.pause_version`): a pause command returns
        // once every live instance stopped starting attempts for the destination.
        Migration(version: "v6-pause-acks", sql: [
            "CREATE TABLE pause_acks (instance TEXT PRIMARY KEY, version BIGINT NOT NULL, seen_at BIGINT NOT NULL)",
        ]),
        // Ordered delivery (SPEC section 14): `held` jobs wait behind their subject's head; `subject_heads` counts each
        // subject's unfinished ordered jobs, and its row is the lock that orders them across instances (see
        // `PostgresOrdering`).
        Migration(version: "v7-ordering", sql: [
            "ALTER TABLE jobs DROP CONSTRAINT jobs_state_check",
            "ALTER TABLE jobs ADD CONSTRAINT jobs_state_check CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead', 'held'))",
            "ALTER TABLE jobs ADD COLUMN subject TEXT",
            "CREATE INDEX jobs_held ON jobs (destination, subject, id) WHERE state = 'held'",
            "CREATE TABLE subject_heads (destination TEXT NOT NULL, subject TEXT NOT NULL, open BIGINT NOT NULL, PRIMARY KEY (destination, subject))",
        ]),
        // The W3C trace context of the request that stored each event (SPEC section 15): an attempt on any instance,
        // hours later, joins that request's trace. NULL when tracing is off; nullable columns rewrite no row.
        Migration(version: "v8-trace-context", sql: [
            "ALTER TABLE events ADD COLUMN traceparent TEXT",
            "ALTER TABLE events ADD COLUMN tracestate TEXT",
        ]),
        // The console's charts and attempt history (SPEC section 17). Each process adds its figures into its own rows
        // (`shard`), summed when read: instances never wait on each other's lock of one hot minute row. The minute
        // leads the key, so the overview reads a range and pruning deletes one; the ledger's figures (`status:`),
        // summed over a day, have a partial index of their own. Attempts lead with their job (read per job, deleted
        // with it; no foreign key, so an outcome of a job pruned meanwhile inserts nothing).
        Migration(version: "v9-console-pictures", sql: [
            """
            CREATE TABLE minute_counts (
                minute BIGINT NOT NULL, subject TEXT NOT NULL, measure TEXT NOT NULL, shard TEXT NOT NULL, value BIGINT NOT NULL,
                PRIMARY KEY (minute, subject, measure, shard))
            """,
            """
            CREATE TABLE attempts (
                job_id BIGINT NOT NULL, started_at BIGINT NOT NULL, duration BIGINT NOT NULL, status BIGINT, error TEXT,
                response TEXT, outcome TEXT NOT NULL, PRIMARY KEY (job_id, started_at))
            """,
            "CREATE INDEX minute_counts_ledger ON minute_counts (measure, subject, minute) INCLUDE (value) WHERE measure LIKE 'status:%'",
        ]),
    ]

    /// Brings the schema up to date; returns the versions applied now (none when another instance did it).
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<String>()
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(String.self) {
                applied.insert(version)
            }
            var now: [String] = []
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.sql { try await connection.query(statement, logger: logger) }
                try await connection.query("INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: logger)
                now.append(migration.version)
            }
            return now
        }
    }
}
