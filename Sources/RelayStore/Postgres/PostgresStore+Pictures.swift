import Logging
import PostgresNIO
import RelayCore

extension PostgresStore {
    /// This process's rows of the minute figures: each process adds into its own, so two instances' commits never
    /// wait on one hot row; reads sum them.
    static let countShard = String(UInt64.random(in: 1...UInt64.max), radix: 36)

    /// Adds a group's figures into this process's minute rows, inside the group's transaction, in one statement.
    static func add(_ tally: MinuteTally, _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard !tally.isEmpty else { return }
        let rows = tally.rows
        try await connection.query("""
            INSERT INTO minute_counts (minute, subject, measure, shard, value)
            SELECT minute, subject, measure, \(countShard), value
            FROM unnest(\(rows.map(\.minute))::int8[], \(rows.map(\.subject))::text[], \(rows.map(\.measure))::text[],
                        \(rows.map(\.value))::int8[]) AS u (minute, subject, measure, value)
            ON CONFLICT (minute, subject, measure, shard) DO UPDATE SET value = minute_counts.value + excluded.value
            """, logger: logger)
    }

    /// Each outcome's attempt, inside the group's transaction; one whose job is gone or that is already held inserts
    /// nothing.
    static func insertAttempts(_ outcomes: [JobOutcome], _ connection: PostgresConnection, _ logger: Logger) async throws {
        let made = outcomes.compactMap { o in o.attempt.map { (outcome: o, attempt: $0) } }
        guard !made.isEmpty else { return }
        try await connection.query("""
            INSERT INTO attempts (job_id, started_at, duration, status, error, response, outcome)
            SELECT u.job_id, u.started_at, u.duration, CASE WHEN u.has_status THEN u.status END, CASE WHEN u.has_error THEN u.error END,
                   CASE WHEN u.has_response THEN u.response END, u.outcome
            FROM unnest(\(made.map(\.outcome.jobID))::int8[], \(made.map(\.attempt.startedAtMilliseconds))::int8[],
                        \(made.map(\.attempt.durationMilliseconds))::int8[],
                        \(made.map { $0.outcome.status != nil })::bool[], \(made.map { Int64($0.outcome.status ?? 0) })::int8[],
                        \(made.map { $0.outcome.error != nil })::bool[], \(made.map { $0.outcome.error ?? "" })::text[],
                        \(made.map { $0.outcome.response != nil })::bool[], \(made.map { $0.outcome.response ?? "" })::text[],
                        \(made.map(\.outcome.state.rawValue))::text[])
                 AS u (job_id, started_at, duration, has_status, status, has_error, error, has_response, response, outcome)
            WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = u.job_id)
            ON CONFLICT (job_id, started_at) DO NOTHING
            """, logger: logger)
    }

    /// The attempts of these jobs, per job, oldest first.
    static func attempts(ofJobs ids: [Int64], _ connection: PostgresConnection, _ logger: Logger) async throws -> [Int64: [StoredAttempt]] {
        guard !ids.isEmpty else { return [:] }
        var byJob: [Int64: [StoredAttempt]] = [:]
        let rows = try await connection.query("""
            SELECT job_id, started_at, duration, status, error, response, outcome FROM attempts
            WHERE job_id = ANY(\(ids)::int8[]) ORDER BY job_id, started_at
            """, logger: logger)
        for try await (job, started, duration, status, error, response, outcome)
            in rows.decode((Int64, Int64, Int64, Int?, String?, String?, String).self) {
            byJob[job, default: []].append(StoredAttempt(startedAtMilliseconds: started, durationMilliseconds: duration, status: status,
                                                         error: error, response: response, outcome: outcome))
        }
        return byJob
    }

    public func minuteCounts(sinceMinute: Int64) async throws(StoreError) -> [MinuteCount] {
        try await withClient { connection, logger in
            var counts: [MinuteCount] = []
            // A sample (the backlog) is one row (shard ''); the rest are summed over the processes that added them.
            let rows = try await connection.query("""
                SELECT subject, measure, minute, sum(value)::int8 FROM minute_counts
                WHERE minute >= \(sinceMinute) AND measure NOT LIKE 'status:%'
                GROUP BY minute, subject, measure ORDER BY minute, subject, measure
                """, logger: logger)
            for try await (subject, measure, minute, value) in rows.decode((String, String, Int64, Int64).self) {
                counts.append(MinuteCount(subject: subject, measure: measure, minute: minute, value: value))
            }
            return counts
        }
    }

    public func ledgerTotals(sinceMinute: Int64) async throws(StoreError) -> [MinuteCount] {
        try await withClient { connection, logger in
            var counts: [MinuteCount] = []
            // From the partial index `minute_counts_ledger` (its WHERE spelled as here): only the ledger's rows.
            let rows = try await connection.query("""
                SELECT subject, measure, sum(value)::int8 FROM minute_counts
                WHERE measure LIKE 'status:%' AND minute >= \(sinceMinute) GROUP BY measure, subject
                """, logger: logger)
            for try await (subject, measure, value) in rows.decode((String, String, Int64).self) {
                counts.append(MinuteCount(subject: subject, measure: measure, minute: sinceMinute, value: value))
            }
            return counts
        }
    }

    public func sampleBacklog(_ pending: [String: Int], nowMilliseconds: Int64) async throws(StoreError) {
        guard !pending.isEmpty else { return }
        let sorted = pending.sorted { $0.key < $1.key }
        let minute = MinuteCount.minute(of: nowMilliseconds)
        _ = try await withClient { connection, logger in
            try await connection.query("""
                INSERT INTO minute_counts (minute, subject, measure, shard, value)
                SELECT \(minute), 'destination:' || d, \(MinuteCount.sampled), '', n
                FROM unnest(\(sorted.map(\.key))::text[], \(sorted.map { Int64($0.value) })::int8[]) AS u (d, n)
                ON CONFLICT (minute, subject, measure, shard) DO UPDATE SET value = excluded.value
                """, logger: logger)
        }
    }

    public func pruneMinuteCounts(beforeMinute: Int64) async throws(StoreError) -> Int {
        try await withClient { connection, logger in
            var removed = 0
            for try await n in try await connection.query("""
                WITH gone AS (DELETE FROM minute_counts WHERE minute < \(beforeMinute) RETURNING 1) SELECT count(*) FROM gone
                """, logger: logger).decode(Int.self) { removed = n }
            return removed
        }
    }
}
