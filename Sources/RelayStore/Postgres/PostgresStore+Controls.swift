import Logging
import PostgresNIO
import RelayCore

/// Destination pauses in PostgreSQL (SPEC section 12). A change is announced on the jobs channel, as a replay is, so
/// every instance's dispatcher looks again at once.
extension PostgresStore {
    public func pause(destination: String, untilMilliseconds: Int64?, nowMilliseconds now: Int64) async throws(StoreError) {
        _ = try await transaction { connection, logger in
            try await connection.query("""
                INSERT INTO destination_pauses (destination, since, until) VALUES (\(destination), \(now), \(untilMilliseconds))
                ON CONFLICT (destination) DO UPDATE SET until = excluded.until,
                    since = CASE WHEN destination_pauses.until IS NOT NULL AND destination_pauses.until <= \(now)
                                 THEN excluded.since ELSE destination_pauses.since END
                """, logger: logger)
            try await connection.query("SELECT pg_notify(\(Self.jobsChannel), \(destination))", logger: logger)
        }
    }

    public func resume(destination: String, nowMilliseconds now: Int64) async throws(StoreError) -> Bool {
        try await transaction { connection, logger in
            var changed = 0
            let rows = try await connection.query("""
                WITH gone AS (DELETE FROM destination_pauses WHERE destination = \(destination) RETURNING until)
                SELECT count(*) FROM gone WHERE until IS NULL OR until > \(now)
                """, logger: logger)
            for try await n in rows.decode(Int.self) { changed = n }
            try await connection.query("SELECT pg_notify(\(Self.jobsChannel), \(destination))", logger: logger)
            return changed > 0
        }
    }

    public func pauses(nowMilliseconds now: Int64) async throws(StoreError) -> [DestinationPause] {
        try await withClient { connection, logger in
            let rows = try await connection.query("""
                SELECT destination, since, until FROM destination_pauses WHERE until IS NULL OR until > \(now) ORDER BY destination
                """, logger: logger)
            var pauses: [DestinationPause] = []
            for try await (destination, since, until) in rows.decode((String, Int64, Int64?).self) {
                pauses.append(DestinationPause(destination: destination, sinceMilliseconds: since, untilMilliseconds: until))
            }
            return pauses
        }
    }
}

/// Event lookup in PostgreSQL, by the events' (source, id) index.
extension PostgresStore {
    public func event(sourceID: String, eventID: String) async throws(StoreError) -> EventDetail? {
        try await withClient { connection, logger in
            var found: (Int64, String, Int64, ByteBuffer)?
            let rows = try await connection.query("""
                SELECT id, type, received_at, canonical FROM events WHERE source_id = \(sourceID) AND event_id = \(eventID)
                ORDER BY id DESC LIMIT 1
                """, logger: logger)
            for try await row in rows.decode((Int64, String, Int64, ByteBuffer).self) { found = row }
            guard let (id, type, receivedAt, canonical) = found else { return nil }
            var jobs: [EventDetail.Job] = []
            let jobRows = try await connection.query("""
                SELECT id, destination, state, attempts, next_attempt_at, updated_at, last_status, last_error, last_response
                FROM jobs WHERE event_row = \(id) ORDER BY destination
                """, logger: logger)
            for try await (jobID, destination, state, attempts, next, updated, status, error, response)
                in jobRows.decode((Int64, String, String, Int, Int64, Int64, Int?, String?, String?).self) {
                jobs.append(EventDetail.Job(id: jobID, destination: destination, state: state, attempts: attempts, nextAttemptAtMilliseconds: next,
                                            updatedAtMilliseconds: updated, lastStatus: status, lastError: error, lastResponse: response))
            }
            return EventDetail(sourceID: sourceID, eventID: eventID, type: type, receivedAtMilliseconds: receivedAt,
                               canonical: Array(buffer: canonical), jobs: jobs)
        }
    }
}
