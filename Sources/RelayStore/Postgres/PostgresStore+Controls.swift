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
