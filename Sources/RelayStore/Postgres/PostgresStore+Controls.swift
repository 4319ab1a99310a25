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
            try await Self.raisePauseVersion(connection, logger)
            try await connection.query("SELECT pg_notify(\(Self.jobsChannel), \(destination))", logger: logger)
        }
    }

    static func raisePauseVersion(_ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO meta (key, value) VALUES ('pause_version', 1) ON CONFLICT (key) DO UPDATE SET value = meta.value + 1
            """, logger: logger)
    }

    public func pauseVersion() async throws(StoreError) -> Int64 {
        try await withClient { connection, logger in
            var version: Int64 = 0
            for try await value in try await connection.query("SELECT value FROM meta WHERE key = 'pause_version'", logger: logger).decode(Int64.self) {
                version = value
            }
            return version
        }
    }

    public func acknowledgePauses(instance: String, version: Int64, nowMilliseconds now: Int64) async throws(StoreError) {
        _ = try await transaction { connection, logger in
            try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
            try await connection.query("""
                INSERT INTO pause_acks (instance, version, seen_at) VALUES (\(instance), \(version), \(unescaped: self.now(now)))
                ON CONFLICT (instance) DO UPDATE SET version = excluded.version, seen_at = excluded.seen_at
                """, logger: logger)
            try await connection.query("DELETE FROM pause_acks WHERE seen_at < \(unescaped: self.now(now)) - 86400000", logger: logger)
        }
    }

    /// Liveness by the job clock: an instance whose wall clock is behind is still seen alive.
    public func pauseAcknowledgements(withinMilliseconds within: Int64, nowMilliseconds now: Int64) async throws(StoreError) -> [PauseAcknowledgement] {
        let clock = self.now(now)
        return try await withClient { connection, logger in
            var acks: [PauseAcknowledgement] = []
            for try await (instance, version, seen) in try await connection.query("""
                SELECT instance, version, seen_at FROM pause_acks WHERE seen_at >= \(unescaped: clock) - \(within) ORDER BY instance
                """, logger: logger).decode((String, Int64, Int64).self) {
                acks.append(PauseAcknowledgement(instance: instance, version: version, seenAtMilliseconds: seen))
            }
            return acks
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
            try await Self.raisePauseVersion(connection, logger)
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
            let history = try await Self.attempts(ofJobs: jobs.map(\.id), connection, logger)
            for index in jobs.indices { jobs[index].history = history[jobs[index].id] ?? [] }
            return EventDetail(sourceID: sourceID, eventID: eventID, type: type, receivedAtMilliseconds: receivedAt,
                               canonical: Array(buffer: canonical), jobs: jobs)
        }
    }
}
