import GRDB

/// The schema, as migrations. A shipped migration is never edited: add a new one.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Times are milliseconds since the Unix epoch: datetime(received_at / 1000, 'unixepoch') reads them.
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY,
                    source_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    type TEXT NOT NULL,
                    event_time INTEGER NOT NULL,
                    received_at INTEGER NOT NULL,
                    redelivery INTEGER NOT NULL,
                    canonical BLOB NOT NULL,
                    passthrough BLOB
                );
                CREATE TABLE dedup_keys (
                    source_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    PRIMARY KEY (source_id, event_id)
                ) WITHOUT ROWID;
                CREATE INDEX dedup_keys_expiry ON dedup_keys (expires_at);
                CREATE TABLE jobs (
                    id INTEGER PRIMARY KEY,
                    event_row INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                    destination TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    last_status INTEGER,
                    last_error TEXT,
                    last_response TEXT
                );
                CREATE INDEX jobs_due ON jobs (destination, state, next_attempt_at);
                CREATE INDEX jobs_state ON jobs (state, updated_at);
                CREATE INDEX jobs_event ON jobs (event_row);
                """)
        }
        migrator.registerMigration("v2-partial-job-indexes") { db in
            // A job changes state twice (pending -> in_flight -> delivered). Indexes holding every job under its state
            // and update time cost two deletes and two inserts per change; partial indexes hold a job only while it
            // is in their state, so a change is one delete and one insert, into small trees that stay in cache.
            try db.execute(sql: """
                DROP INDEX jobs_due;
                DROP INDEX jobs_state;
                CREATE INDEX jobs_pending ON jobs (destination, next_attempt_at) WHERE state = 'pending';
                CREATE INDEX jobs_in_flight ON jobs (destination) WHERE state = 'in_flight';
                CREATE INDEX jobs_delivered ON jobs (updated_at, destination) WHERE state = 'delivered';
                CREATE INDEX jobs_dead ON jobs (updated_at, destination) WHERE state = 'dead';
                """)
        }
        migrator.registerMigration("v3-leases") { db in
            // A claim puts a lease on its jobs (a token and when it lapses): an outcome is recorded only under the
            // job's latest token, and a lapsed claim may be taken by any process. Jobs in flight from before leases
            // have lease_until 0: lapsed, so they are claimed again at once, as the old start-up requeue did.
            // `turns` holds who does housekeeping now, when several processes share the file.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
                DROP INDEX jobs_in_flight;
                CREATE INDEX jobs_in_flight ON jobs (destination, lease_until) WHERE state = 'in_flight';
                CREATE TABLE turns (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-ledger") { db in
            // The receipt ledger: one row per (message id, source); the key leads with the message id, so a lookup by
            // id alone (`relay messages show` without --source) needs no index of its own. `overdue_at` is set only
            // while the message is waited for, so the overdue scan walks a partial index of exactly those rows.
            try db.execute(sql: """
                CREATE TABLE messages (
                    source_id TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    status TEXT,
                    rank INTEGER NOT NULL DEFAULT 0,
                    status_channel TEXT,
                    channels TEXT NOT NULL DEFAULT '[]',
                    history TEXT NOT NULL DEFAULT '',
                    history_dropped INTEGER NOT NULL DEFAULT 0,
                    event_source TEXT,
                    first_at INTEGER,
                    overdue_at INTEGER,
                    expect_within INTEGER,
                    overdue INTEGER NOT NULL DEFAULT 0,
                    expires_at INTEGER NOT NULL,
                    PRIMARY KEY (message_id, source_id)
                ) WITHOUT ROWID;
                CREATE INDEX messages_overdue ON messages (overdue_at) WHERE overdue_at IS NOT NULL;
                CREATE INDEX messages_expiry ON messages (expires_at);
                """)
        }
        migrator.registerMigration("v5-pauses") { db in
            // Paused destinations (SPEC section 12), read by every process on the file.
            try db.execute(sql: """
                CREATE TABLE destination_pauses (destination TEXT PRIMARY KEY, since INTEGER NOT NULL, until INTEGER) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v6-event-lookup") { db in
            // The dedup key names its event's row: looking an event up by source and id is one primary-key read,
            // with no index on events (another random-keyed index would be written by every ingest).
            try db.execute(sql: "ALTER TABLE dedup_keys ADD COLUMN event_row INTEGER")
        }
        migrator.registerMigration("v7-pause-acks") { db in
            // Each process's word that it obeys the pauses up to a version (`meta.pause_version`), so a pause command
            // returns once every live process stopped starting attempts for the destination.
            try db.execute(sql: """
                CREATE TABLE pause_acks (instance TEXT PRIMARY KEY, version INTEGER NOT NULL, seen_at INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v8-ordering") { db in
            // Ordered delivery (SPEC section 14): a job waiting behind its subject's head is `held`, and `subject`
            // names the subject of a job whose destination orders by it (cleared once the job ends its turn).
            // `subject_heads` counts each subject's unfinished jobs: a new job is the head when the count was 0, and the
            // head's end lets the next held job (lowest id: commit order) go. SQLite cannot widen a CHECK in place, so
            // the table is rebuilt, ids kept.
            try db.execute(sql: """
                CREATE TABLE jobs_v8 (
                    id INTEGER PRIMARY KEY,
                    event_row INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                    destination TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead', 'held')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    last_status INTEGER,
                    last_error TEXT,
                    last_response TEXT,
                    lease INTEGER NOT NULL DEFAULT 0,
                    lease_until INTEGER NOT NULL DEFAULT 0,
                    subject TEXT
                );
                INSERT INTO jobs_v8 (id, event_row, destination, state, attempts, next_attempt_at, created_at, updated_at,
                                     last_status, last_error, last_response, lease, lease_until)
                SELECT id, event_row, destination, state, attempts, next_attempt_at, created_at, updated_at,
                       last_status, last_error, last_response, lease, lease_until FROM jobs;
                DROP TABLE jobs;
                ALTER TABLE jobs_v8 RENAME TO jobs;
                CREATE INDEX jobs_event ON jobs (event_row);
                CREATE INDEX jobs_pending ON jobs (destination, next_attempt_at) WHERE state = 'pending';
                CREATE INDEX jobs_in_flight ON jobs (destination, lease_until) WHERE state = 'in_flight';
                CREATE INDEX jobs_delivered ON jobs (updated_at, destination) WHERE state = 'delivered';
                CREATE INDEX jobs_dead ON jobs (updated_at, destination) WHERE state = 'dead';
                CREATE INDEX jobs_held ON jobs (destination, subject, id) WHERE state = 'held';
                CREATE TABLE subject_heads (
                    destination TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    open INTEGER NOT NULL,
                    PRIMARY KEY (destination, subject)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v9-trace-context") { db in
            // The W3C trace context of the request that stored each event (SPEC section 15): a delivery attempt hours
            // later joins that request's trace. NULL when tracing is off; adding nullable columns rewrites no row.
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN traceparent TEXT;
                ALTER TABLE events ADD COLUMN tracestate TEXT;
                """)
        }
        migrator.registerMigration("v10-console-pictures") { db in
            // The console's charts and attempt history (SPEC section 17). Minute figures lead with the minute: a
            // group's upserts land on the tree's right edge, the overview reads the last hour as one range, and
            // pruning is a range delete; the ledger's figures (`status:`), summed over a day, also have a covering
            // index of their own, kept only for their rows. Attempts lead with their job: the event page reads a job's
            // attempts as one range and pruning a job deletes them the same way (no foreign key: an outcome of a
            // pruned job, held through an outage, inserts nothing instead of failing its batch).
            try db.execute(sql: """
                CREATE TABLE minute_counts (
                    minute INTEGER NOT NULL,
                    subject TEXT NOT NULL,
                    measure TEXT NOT NULL,
                    value INTEGER NOT NULL,
                    PRIMARY KEY (minute, subject, measure)
                ) WITHOUT ROWID;
                CREATE TABLE attempts (
                    job_id INTEGER NOT NULL,
                    started_at INTEGER NOT NULL,
                    duration INTEGER NOT NULL,
                    status INTEGER,
                    error TEXT,
                    response TEXT,
                    outcome TEXT NOT NULL,
                    PRIMARY KEY (job_id, started_at)
                ) WITHOUT ROWID;
                CREATE INDEX minute_counts_ledger ON minute_counts (measure, subject, minute, value) WHERE measure GLOB 'status:*';
                """)
        }
        return migrator
    }
}
