import GRDB
import RelayCore

extension SQLiteStore {
    /// Adds a group's figures into their minute rows, inside the group's transaction: one upsert per row.
    static func add(_ tally: MinuteTally, _ db: Database) throws {
        guard !tally.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO minute_counts (minute, subject, measure, value) VALUES (?, ?, ?, ?)
            ON CONFLICT (minute, subject, measure) DO UPDATE SET value = value + excluded.value
            """)
        for row in tally.rows { try upsert.execute(arguments: [row.minute, row.subject, row.measure, row.value]) }
    }

    /// Each outcome's attempt, inside the group's transaction; an attempt whose job is gone (pruned while its outcome
    /// waited) or already held (the same outcome written twice) inserts nothing.
    static func insertAttempts(_ outcomes: [JobOutcome], _ db: Database) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO attempts (job_id, started_at, duration, status, error, response, outcome)
            SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1)
            """)
        for o in outcomes {
            guard let attempt = o.attempt else { continue }
            try insert.execute(arguments: [
                o.jobID, attempt.startedAtMilliseconds, attempt.durationMilliseconds, o.status, o.error, o.response, o.state.rawValue,
            ])
        }
    }

    /// The attempts of one job, oldest first.
    static func attempts(ofJob id: Int64, _ db: Database) throws -> [StoredAttempt] {
        try Row.fetchAll(db, sql: """
            SELECT started_at, duration, status, error, response, outcome FROM attempts WHERE job_id = ? ORDER BY started_at
            """, arguments: [id]).map { row in
            StoredAttempt(startedAtMilliseconds: row[0], durationMilliseconds: row[1], status: row[2], error: row[3], response: row[4], outcome: row[5])
        }
    }

    public func minuteCounts(sinceMinute: Int64) async throws(StoreError) -> [MinuteCount] {
        try await read { db in
            // A range of the primary key, in its order.
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT subject, measure, minute, value FROM minute_counts
                WHERE minute >= ? AND NOT measure GLOB 'status:*' ORDER BY minute, subject, measure
                """), arguments: [sinceMinute]).map { MinuteCount(subject: $0[0], measure: $0[1], minute: $0[2], value: $0[3]) }
        }
    }

    public func ledgerTotals(sinceMinute: Int64) async throws(StoreError) -> [MinuteCount] {
        try await read { db in
            // From the partial index `minute_counts_ledger` (its WHERE spelled as here), in its order: no row of the
            // other figures visited, no sort, a handful of rows back.
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT subject, measure, SUM(value) FROM minute_counts
                WHERE measure GLOB 'status:*' AND minute >= ? GROUP BY measure, subject
                """), arguments: [sinceMinute]).map { MinuteCount(subject: $0[0], measure: $0[1], minute: sinceMinute, value: $0[2]) }
        }
    }

    public func sampleBacklog(_ pending: [String: Int], nowMilliseconds: Int64) async throws(StoreError) {
        guard !pending.isEmpty else { return }
        let minute = MinuteCount.minute(of: nowMilliseconds)
        try await write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO minute_counts (minute, subject, measure, value) VALUES (?, ?, '\(MinuteCount.sampled)', ?)
                ON CONFLICT (minute, subject, measure) DO UPDATE SET value = excluded.value
                """)
            for (destination, count) in pending.sorted(by: { $0.key < $1.key }) {
                try upsert.execute(arguments: [minute, "destination:" + destination, count])
            }
        }
    }

    public func pruneMinuteCounts(beforeMinute: Int64) async throws(StoreError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM minute_counts WHERE minute < ?", arguments: [beforeMinute])
            return db.changesCount
        }
    }
}
