import Logging
import PostgresNIO
import RelayCore

extension PostgresStore {
    public func claimDue(destination: String, nowMilliseconds now: Int64, limit: Int) async throws(StoreError) -> [DeliveryJob] {
        guard case .claimed(let jobs) = try await grouped(.claim(destination: destination, nowMilliseconds: now, limit: limit)) else { return [] }
        return jobs
    }

    /// Due pending jobs of `destination` with their bodies, marked in flight, in one statement. `SKIP LOCKED`: a job
    /// another instance is claiming at this moment is left to it, not waited for.
    static func claim(destination: String, now: Int64, limit: Int, _ connection: PostgresConnection, _ logger: Logger) async throws -> [DeliveryJob] {
        let rows = try await connection.query("""
            WITH claimed AS (
                UPDATE jobs SET state = 'in_flight', updated_at = \(now)
                WHERE id IN (SELECT id FROM jobs
                             WHERE destination = \(destination) AND state = 'pending' AND next_attempt_at <= \(now)
                             ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id, attempts, event_row, next_attempt_at)
            SELECT c.id, c.attempts, e.event_id, e.source_id, e.provider, e.type, e.canonical, e.passthrough
            FROM claimed c JOIN events e ON e.id = c.event_row
            ORDER BY c.next_attempt_at, c.id
            """, logger: logger)
        var jobs: [DeliveryJob] = []
        for try await (id, attempts, eventID, sourceID, provider, type, canonical, passthrough)
            in rows.decode((Int64, Int, String, String, String, String, ByteBuffer, ByteBuffer?).self) {
            jobs.append(DeliveryJob(
                id: id, destination: destination, attempts: attempts, eventID: eventID, sourceID: sourceID,
                provider: ProviderKind(rawValue: provider), type: type, canonical: Array(canonical.readableBytesView),
                passthrough: passthrough.map { Array($0.readableBytesView) }))
        }
        return jobs
    }

    public func nextDue(destination: String) async throws(StoreError) -> Int64? {
        try await withClient { client, logger in
            var due: Int64?
            for try await next in try await client.query("""
                SELECT MIN(next_attempt_at) FROM jobs WHERE destination = \(destination) AND state = 'pending'
                """, logger: logger).decode(Int64?.self) { due = next }
            return due
        }
    }

    public func complete(_ outcomes: [JobOutcome], nowMilliseconds now: Int64) async throws(StoreError) {
        guard !outcomes.isEmpty else { return }
        _ = try await grouped(.complete(outcomes, nowMilliseconds: now))
    }

    /// Every outcome in one statement, its columns as arrays. Arrays cannot hold NULL here, so each nullable column
    /// travels with a flag saying whether it has a value. Only jobs still in flight change, as on SQLite.
    static func complete(_ outcomes: [JobOutcome], now: Int64, _ connection: PostgresConnection, _ logger: Logger) async throws {
        // One UPDATE changes a row once, with whichever matching array entry it meets first: so a job gets one
        // outcome per batch, the first given (the dispatcher gives one per attempt; this only keeps it defined).
        var seen = Set<Int64>()
        let outcomes = outcomes.filter { seen.insert($0.jobID).inserted }
        try await connection.query("""
            UPDATE jobs j SET state = u.state, attempts = u.attempts, next_attempt_at = u.next_attempt_at,
                last_status = CASE WHEN u.has_status THEN u.status END,
                last_error = CASE WHEN u.has_error THEN u.error END,
                last_response = CASE WHEN u.has_response THEN u.response END,
                updated_at = \(now)
            FROM unnest(\(outcomes.map(\.jobID))::int8[], \(outcomes.map(\.state.rawValue))::text[],
                        \(outcomes.map { Int64($0.attempts) })::int8[], \(outcomes.map(\.nextAttemptAtMilliseconds))::int8[],
                        \(outcomes.map { $0.status != nil })::bool[], \(outcomes.map { Int64($0.status ?? 0) })::int8[],
                        \(outcomes.map { $0.error != nil })::bool[], \(outcomes.map { $0.error ?? "" })::text[],
                        \(outcomes.map { $0.response != nil })::bool[], \(outcomes.map { $0.response ?? "" })::text[])
                 AS u (id, state, attempts, next_attempt_at, has_status, status, has_error, error, has_response, response)
            WHERE j.id = u.id AND j.state = 'in_flight'
            """, logger: logger)
    }

    public func release(jobIDs: [Int64], nowMilliseconds now: Int64) async throws(StoreError) {
        guard !jobIDs.isEmpty else { return }
        _ = try await withClient { client, logger in
            try await client.query("""
                UPDATE jobs SET state = 'pending', updated_at = \(now) WHERE id = ANY(\(jobIDs)::int8[]) AND state = 'in_flight'
                """, logger: logger)
        }
    }

    public func requeueInFlight(nowMilliseconds now: Int64) async throws(StoreError) -> Int {
        try await count("""
            WITH moved AS (
                UPDATE jobs SET state = 'pending', next_attempt_at = \(now), updated_at = \(now) WHERE state = 'in_flight' RETURNING 1)
            SELECT count(*) FROM moved
            """)
    }
}
