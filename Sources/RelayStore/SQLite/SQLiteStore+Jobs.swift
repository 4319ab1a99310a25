import Foundation
import GRDB
import RelayCore

extension SQLiteStore {
    public func claimDue(destination: String, nowMilliseconds now: Int64, limit: Int, leaseMilliseconds: Int64) async throws(StoreError) -> [DeliveryJob] {
        let sent = ContinuousClock.now
        let lease = JobClaimLease(nowMilliseconds: now, leaseMilliseconds: leaseMilliseconds)
        guard case .claimed(let jobs) = try await grouped(.claim(destination: destination, nowMilliseconds: now, limit: limit, lease: lease)) else { return [] }
        return jobs.withLeaseEnd(sent + .milliseconds(leaseMilliseconds))
    }

    /// Jobs of `destination` whose claim lapsed, then due pending ones, with their bodies, put under `lease`: two
    /// reads (each from its state's index) and one update. Lapsed claims come first: their jobs waited longest.
    static func claim(destination: String, now: Int64, limit: Int, lease: JobClaimLease, _ db: Database) throws -> [DeliveryJob] {
        let select = """
            SELECT j.id, j.attempts, e.event_id, e.source_id, e.provider, e.type, e.canonical, e.passthrough, j.subject,
                   e.traceparent, e.tracestate
            FROM jobs j JOIN events e ON e.id = j.event_row
            """
        var rows = try Row.fetchAll(db.cachedStatement(sql: select + """
             WHERE j.destination = ? AND j.state = 'in_flight' AND j.lease_until <= ? ORDER BY j.lease_until, j.id LIMIT ?
            """), arguments: [destination, now, limit])
        if rows.count < limit {
            rows += try Row.fetchAll(db.cachedStatement(sql: select + """
                 WHERE j.destination = ? AND j.state = 'pending' AND j.next_attempt_at <= ? ORDER BY j.next_attempt_at, j.id LIMIT ?
                """), arguments: [destination, now, limit - rows.count])
        }
        guard !rows.isEmpty else { return [] }
        // Columns by position (in the SELECT's order): a lookup by name folds its case on every access.
        let jobs = rows.map { row -> DeliveryJob in
            let canonical: Data = row[6]
            let passthrough: Data? = row[7]
            let traceparent: String? = row[9]
            let tracestate: String? = row[10]
            return DeliveryJob(
                id: row[0], destination: destination, attempts: row[1], eventID: row[2],
                sourceID: row[3], provider: ProviderKind(rawValue: row[4]),
                type: row[5], canonical: Array(canonical), passthrough: passthrough.map { Array($0) }, subject: row[8],
                lease: lease.token, leaseUntilMilliseconds: lease.untilMilliseconds,
                traceContext: StoredTraceContext(traceparent: traceparent, tracestate: tracestate))
        }
        try db.execute(sql: """
            UPDATE jobs SET state = 'in_flight', lease = ?, lease_until = ?, updated_at = ? WHERE id IN (\(idList(jobs.map(\.id))))
            """, arguments: [lease.token, lease.untilMilliseconds, now])
        return jobs
    }

    /// Job ids (integers read from the store) as an SQL list: one statement for a whole claim or group of outcomes.
    static func idList(_ ids: [Int64]) -> String { ids.map(String.init).joined(separator: ",") }

    public func nextDue(destination: String) async throws(StoreError) -> Int64? {
        try await read { db in
            let due = try Int64.fetchOne(db, sql: """
                SELECT MIN(next_attempt_at) FROM jobs WHERE destination = ? AND state = 'pending'
                """, arguments: [destination])
            let lapse = try Int64.fetchOne(db, sql: """
                SELECT MIN(lease_until) FROM jobs WHERE destination = ? AND state = 'in_flight'
                """, arguments: [destination])
            return [due, lapse].compactMap { $0 }.min()
        }
    }

    @discardableResult
    public func complete(_ outcomes: [JobOutcome], nowMilliseconds now: Int64) async throws(StoreError) -> Int {
        guard !outcomes.isEmpty else { return 0 }
        guard case .completed(let fenced) = try await grouped(.complete(outcomes, nowMilliseconds: now)) else { return 0 }
        return fenced
    }

    /// Returns how many outcomes the fence refused: their job is no longer in flight under their claim.
    static func complete(_ outcomes: [JobOutcome], now: Int64, _ db: Database) throws -> Int {
        // Deliveries are most outcomes and alike (same attempt count, status and claim): one statement per kind.
        var delivered: [DeliveredKind: [Int64]] = [:]
        var others: [JobOutcome] = []
        for o in outcomes {
            if o.state == .delivered && o.error == nil && o.response == nil && o.nextAttemptAtMilliseconds == 0 {
                delivered[DeliveredKind(attempts: o.attempts, status: o.status, lease: o.claim.lease), default: []].append(o.jobID)
            } else {
                others.append(o)
            }
        }
        var recorded = 0
        for (kind, ids) in delivered {
            try db.execute(sql: """
                UPDATE jobs SET state = 'delivered', attempts = ?, next_attempt_at = 0, last_status = ?, last_error = NULL,
                    last_response = NULL, updated_at = ?
                WHERE id IN (\(idList(ids))) AND state = 'in_flight' AND lease = ?
                """, arguments: [kind.attempts, kind.status, now, kind.lease])
            recorded += db.changesCount
        }
        let statement = try db.cachedStatement(sql: """
            UPDATE jobs SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?,
                last_response = ?, updated_at = ?
            WHERE id = ? AND state = 'in_flight' AND lease = ?
            """)
        for o in others {
            try statement.execute(arguments: [
                o.state.rawValue, o.attempts, o.nextAttemptAtMilliseconds, o.status, o.error, o.response, now, o.jobID, o.claim.lease,
            ])
            recorded += db.changesCount
        }
        try insertAttempts(outcomes, db)
        try SQLiteOrdering.endTurns(outcomes, now: now, db)
        return outcomes.count - recorded
    }

    private struct DeliveredKind: Hashable {
        var attempts: Int
        var status: Int?
        var lease: Int64
    }

    public func release(_ claims: [JobClaim], nowMilliseconds now: Int64) async throws(StoreError) {
        guard !claims.isEmpty else { return }
        try await write { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE jobs SET state = 'pending', lease_until = 0, updated_at = ? WHERE id = ? AND state = 'in_flight' AND lease = ?
                """)
            for claim in claims { try statement.execute(arguments: [now, claim.jobID, claim.lease]) }
        }
    }

    public func takeTurn(_ name: String, holder: String, nowMilliseconds now: Int64, holdMilliseconds: Int64) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(sql: Self.takeTurnSQL, arguments: [name, holder, now + holdMilliseconds, now])
            return db.changesCount > 0
        }
    }

    /// Inserts the turn, or takes it over when it is the holder's own or has lapsed; otherwise changes nothing.
    static let takeTurnSQL = """
        INSERT INTO turns (name, holder, until) VALUES (?1, ?2, ?3)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
        WHERE turns.holder = excluded.holder OR turns.until <= ?4
        """

    /// Another process on the same file says nothing when it stores jobs: the dispatcher's poll finds them.
    public func watchJobs(_ wake: @escaping @Sendable (String?) -> Void) async {}

    public func stats(nowMilliseconds now: Int64, countingEvents: Bool) async throws(StoreError) -> StoreStats {
        try await read { db in
            var byDestination: [String: DestinationStats] = [:]
            for row in try Row.fetchAll(db, sql: Self.jobCountsSQL) {
                let name: String = row["destination"]
                var stats = byDestination[name] ?? DestinationStats(destination: name)
                let n: Int = row["n"]
                switch row["state"] as String {
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
            for name in byDestination.keys {
                // Age counts from when the event arrived, so a job waiting out retries still ages. Job ids grow with
                // creation time, so the first match in rowid order is the oldest: no need to visit every pending job.
                if let oldest = try Int64.fetchOne(db, sql: """
                    SELECT created_at FROM jobs NOT INDEXED WHERE destination = ? AND state IN ('pending', 'in_flight', 'held')
                    ORDER BY id LIMIT 1
                    """, arguments: [name]) {
                    byDestination[name]?.oldestPendingSeconds = Double(max(0, now - oldest)) / 1000
                }
            }
            let dedupKeys = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dedup_keys") ?? 0
            // Events have no index to count from: this reads every event (0.26 s for 1,400,000 of them).
            let events = countingEvents ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0 : 0
            return StoreStats(destinations: byDestination.values.sorted { $0.destination < $1.destination }, dedupKeys: dedupKeys, events: events)
        }
    }

    /// One count per state and destination, each from that state's partial index (no visit to jobs in other states).
    static let jobCountsSQL = ["pending", "held", "in_flight", "dead", "delivered"].map {
        "SELECT destination, '\($0)' AS state, COUNT(*) AS n FROM jobs WHERE state = '\($0)' GROUP BY destination"
    }.joined(separator: " UNION ALL ")

    public func deadLetters(destination: String?, sinceMilliseconds since: Int64?, untilMilliseconds until: Int64?, type: String?,
                            limit: Int) async throws(StoreError) -> [DeadLetter] {
        // SQLite's GLOB is ``Glob`` (case-sensitive `*` and `?`) plus `[...]` classes: a literal `[` is written `[[]`.
        let pattern = type?.replacingOccurrences(of: "[", with: "[[]")
        return try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT j.id, j.destination, j.attempts, j.last_status, j.last_error, j.last_response, j.updated_at,
                       e.event_id, e.source_id, e.type, e.received_at
                FROM jobs j JOIN events e ON e.id = j.event_row
                WHERE j.state = 'dead' AND (?1 IS NULL OR j.destination = ?1)
                  AND j.updated_at >= ?3 AND j.updated_at < ?4 AND (?5 IS NULL OR e.type GLOB ?5)
                ORDER BY j.updated_at, j.destination, j.id LIMIT ?2
                """, arguments: [destination, limit, since ?? Int64.min, until ?? Int64.max, pattern]).map { row in
                DeadLetter(
                    id: row["id"], destination: row["destination"], eventID: row["event_id"], sourceID: row["source_id"],
                    type: row["type"], attempts: row["attempts"], lastStatus: row["last_status"], lastError: row["last_error"],
                    lastResponse: row["last_response"], receivedAtMilliseconds: row["received_at"], failedAtMilliseconds: row["updated_at"])
            }
        }
    }

    public func replay(ids: [Int64]?, destination: String?, nowMilliseconds now: Int64) async throws(StoreError) -> Int {
        try await write { db in
            let set = "UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = ?1, updated_at = ?1 WHERE state = 'dead' AND (?2 IS NULL OR destination = ?2)"
            if let ids {
                let statement = try db.makeStatement(sql: set + " AND id = ?3")
                var moved = 0
                for id in ids {
                    try statement.execute(arguments: [now, destination, id])
                    moved += db.changesCount
                }
                return moved
            }
            try db.execute(sql: set, arguments: [now, destination])
            return db.changesCount
        }
    }

    public func prune(finishedBeforeMilliseconds cutoff: Int64, limit: Int) async throws(StoreError) -> Int {
        // Candidates are found by reads (which never block the writer); each delete is a short write of at
        // most `pruneBatch` rows, so ingest commits wait milliseconds, not seconds.
        var removed = 0
        while removed < limit {
            let delivered = try await read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, event_row FROM jobs WHERE state = 'delivered' AND updated_at < ? ORDER BY updated_at LIMIT ?
                    """, arguments: [cutoff, Self.pruneBatch]).map { (job: $0["id"] as Int64, event: $0["event_row"] as Int64) }
            }
            if delivered.isEmpty { break }
            removed += try await write { db in
                let jobs = delivered.map { String($0.job) }.joined(separator: ",")
                try db.execute(sql: "DELETE FROM jobs WHERE id IN (\(jobs)) AND state = 'delivered'")
                var count = db.changesCount
                try db.execute(sql: "DELETE FROM attempts WHERE job_id IN (\(jobs)) AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = attempts.job_id)")
                let events = Set(delivered.map(\.event)).map(String.init).joined(separator: ",")
                try db.execute(sql: """
                    DELETE FROM events WHERE id IN (\(events)) AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_row = events.id)
                    """)
                count += db.changesCount
                return count
            }
        }
        return removed + (try await pruneOrphanEvents(before: cutoff))
    }

    /// Events that no route matched have no job: found by scanning a bounded id range per call, resuming where
    /// the last call stopped, so the cost per pass stays flat however large the table is.
    func pruneOrphanEvents(before cutoff: Int64) async throws(StoreError) -> Int {
        let start = orphanCursor.withLock { $0 }
        let (orphans, maxID) = try await read { db in
            let orphans = try Int64.fetchAll(db, sql: """
                SELECT e.id FROM events e WHERE e.id > ? AND e.id <= ? AND e.received_at < ?
                AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_row = e.id)
                """, arguments: [start, start + Int64(Self.pruneBatch * 5), cutoff])
            return (orphans, try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM events") ?? 0)
        }
        // Past the end, start over next time; otherwise resume after this range.
        orphanCursor.withLock { $0 = start + Int64(Self.pruneBatch * 5) >= maxID ? 0 : start + Int64(Self.pruneBatch * 5) }
        guard !orphans.isEmpty else { return 0 }
        return try await write { db in
            try db.execute(sql: """
                DELETE FROM events WHERE id IN (\(orphans.map(String.init).joined(separator: ",")))
                AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.event_row = events.id)
                """)
            return db.changesCount
        }
    }

    static let pruneBatch = 1_000
}
