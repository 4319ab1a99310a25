import Logging
import PostgresNIO
import RelayCore

extension PostgresStore {
    public func stats(nowMilliseconds now: Int64, countingEvents: Bool) async throws(StoreError) -> StoreStats {
        try await withClient { connection, logger in
            var byDestination: [String: DestinationStats] = [:]
            // One count per state, each from that state's partial index, as on SQLite.
            let counts = try await connection.query("""
                SELECT destination, 'pending', COUNT(*) FROM jobs WHERE state = 'pending' GROUP BY destination
                UNION ALL SELECT destination, 'held', COUNT(*) FROM jobs WHERE state = 'held' GROUP BY destination
                UNION ALL SELECT destination, 'in_flight', COUNT(*) FROM jobs WHERE state = 'in_flight' GROUP BY destination
                UNION ALL SELECT destination, 'dead', COUNT(*) FROM jobs WHERE state = 'dead' GROUP BY destination
                UNION ALL SELECT destination, 'delivered', COUNT(*) FROM jobs WHERE state = 'delivered' GROUP BY destination
                """, logger: logger)
            for try await (name, state, n) in counts.decode((String, String, Int).self) {
                var stats = byDestination[name] ?? DestinationStats(destination: name)
                switch state {
                case "pending": stats.pending += n
                case "held":
                    stats.held = n
                    stats.pending += n  // waiting for an attempt, as pending jobs are (SPEC section 14)
                case "in_flight": stats.inFlight = n
                case "dead": stats.dead = n
                default: stats.delivered = n
                }
                byDestination[name] = stats
            }
            // Age counts from when the event arrived, so a job waiting out retries still ages.
            let oldest = try await connection.query("""
                SELECT destination, MIN(created_at) FROM jobs WHERE state IN ('pending', 'in_flight', 'held') GROUP BY destination
                """, logger: logger)
            for try await (name, created) in oldest.decode((String, Int64).self) {
                byDestination[name]?.oldestPendingSeconds = Double(max(0, now - created)) / 1000
            }
            var dedupKeys = 0
            for try await n in try await connection.query("SELECT COUNT(*) FROM dedup_keys", logger: logger).decode(Int.self) { dedupKeys = n }
            var events = 0
            if countingEvents {
                for try await n in try await connection.query("SELECT COUNT(*) FROM events", logger: logger).decode(Int.self) { events = n }
            }
            return StoreStats(destinations: byDestination.values.sorted { $0.destination < $1.destination }, dedupKeys: dedupKeys, events: events)
        }
    }

    public func deadLetters(destination: String?, sinceMilliseconds since: Int64?, untilMilliseconds until: Int64?, type: String?,
                            limit: Int) async throws(StoreError) -> [DeadLetter] {
        let pattern = type.map(Self.likePattern)
        return try await withClient { connection, logger in
            let rows = try await connection.query("""
                SELECT j.id, j.destination, j.attempts, j.last_status, j.last_error, j.last_response, j.updated_at,
                       e.event_id, e.source_id, e.type, e.received_at
                FROM jobs j JOIN events e ON e.id = j.event_row
                WHERE j.state = 'dead' AND (\(destination)::text IS NULL OR j.destination = \(destination)::text)
                  AND j.updated_at >= \(since ?? Int64.min) AND j.updated_at < \(until ?? Int64.max)
                  AND (\(pattern)::text IS NULL OR e.type LIKE \(pattern)::text)
                ORDER BY j.updated_at, j.destination, j.id LIMIT \(limit)
                """, logger: logger)
            var letters: [DeadLetter] = []
            for try await (id, dest, attempts, status, error, response, failedAt, eventID, sourceID, type, receivedAt)
                in rows.decode((Int64, String, Int, Int?, String?, String?, Int64, String, String, String, Int64).self) {
                letters.append(DeadLetter(
                    id: id, destination: dest, eventID: eventID, sourceID: sourceID, type: type, attempts: attempts,
                    lastStatus: status, lastError: error, lastResponse: response,
                    receivedAtMilliseconds: receivedAt, failedAtMilliseconds: failedAt))
            }
            return letters
        }
    }

    public func replay(ids: [Int64]?, destination: String?, nowMilliseconds now: Int64) async throws(StoreError) -> Int {
        try await count("""
            WITH moved AS (
                UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = \(unescaped: self.now(now)), updated_at = \(unescaped: self.now(now))
                WHERE state = 'dead' AND (\(destination)::text IS NULL OR destination = \(destination)::text)
                  AND (\(ids)::int8[] IS NULL OR id = ANY(\(ids)::int8[]))
                RETURNING destination)
            SELECT COALESCE(sum(n), 0)::int8 FROM (
                SELECT count(*) AS n, pg_notify(\(Self.jobsChannel), destination) FROM moved GROUP BY destination) per_destination
            """)
    }

    public func prune(finishedBeforeMilliseconds cutoff: Int64, limit: Int) async throws(StoreError) -> Int {
        // Short transactions of at most `pruneBatch` jobs, so ingest commits never wait behind a long delete.
        var removed = 0
        while removed < limit {
            let batch = try await transaction { connection, logger -> Int in
                var events: [Int64] = []
                var jobs: [Int64] = []
                for try await row in try await connection.query("""
                    DELETE FROM jobs WHERE id IN (
                        SELECT id FROM jobs WHERE state = 'delivered' AND updated_at < \(cutoff)
                        ORDER BY updated_at LIMIT \(Self.pruneBatch) FOR UPDATE SKIP LOCKED)
                    RETURNING id, event_row
                    """, logger: logger).decode((Int64, Int64).self) {
                    jobs.append(row.0)
                    events.append(row.1)
                }
                guard !events.isEmpty else { return 0 }
                try await connection.query("DELETE FROM attempts WHERE job_id = ANY(\(jobs)::int8[])", logger: logger)
                var gone = 0
                for try await n in try await connection.query("""
                    WITH gone AS (
                        DELETE FROM events e WHERE e.id = ANY(\(Array(Set(events)))::int8[])
                        AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_row = e.id) RETURNING 1)
                    SELECT count(*) FROM gone
                    """, logger: logger).decode(Int.self) { gone = n }
                return events.count + gone
            }
            if batch == 0 { break }
            removed += batch
        }
        return removed + (try await pruneOrphanEvents(before: cutoff))
    }

    /// Events that no route matched have no job: found by scanning a bounded id range per call, resuming where the
    /// last call stopped, so the cost per pass stays flat however large the table is.
    func pruneOrphanEvents(before cutoff: Int64) async throws(StoreError) -> Int {
        let start = orphanCursor.withLock { $0 }
        let end = start + Int64(Self.pruneBatch * 5)
        let (removed, maxID) = try await withClient { connection, logger -> (Int, Int64) in
            var removed = 0
            for try await n in try await connection.query("""
                WITH gone AS (
                    DELETE FROM events e WHERE e.id > \(start) AND e.id <= \(end) AND e.received_at < \(cutoff)
                    AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_row = e.id) RETURNING 1)
                SELECT count(*) FROM gone
                """, logger: logger).decode(Int.self) { removed = n }
            var maxID: Int64 = 0
            for try await id in try await connection.query("SELECT MAX(id) FROM events", logger: logger).decode(Int64?.self) { maxID = id ?? 0 }
            return (removed, maxID)
        }
        // Past the end, start over next time; otherwise resume after this range.
        orphanCursor.withLock { $0 = end >= maxID ? 0 : end }
        return removed
    }

    static let pruneBatch = 1_000

    /// A ``Glob`` as a `LIKE` pattern (case-sensitive in PostgreSQL): `*` is `%`, `?` is `_`, and a literal `%`, `_` or
    /// `\` is escaped with `\`, LIKE's default escape.
    static func likePattern(_ glob: String) -> String {
        var pattern = ""
        for character in glob {
            switch character {
            case "*": pattern += "%"
            case "?": pattern += "_"
            case "%", "_", "\\": pattern += "\\" + String(character)
            default: pattern.append(character)
            }
        }
        return pattern
    }
}
