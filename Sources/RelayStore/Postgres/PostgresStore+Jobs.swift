import Logging
import PostgresNIO
import RelayCore

extension PostgresStore {
    public func claimDue(destination: String, nowMilliseconds now: Int64, limit: Int, leaseMilliseconds: Int64) async throws(StoreError) -> [DeliveryJob] {
        let sent = ContinuousClock.now
        let lease = JobClaimLease(nowMilliseconds: now, leaseMilliseconds: leaseMilliseconds)
        guard case .claimed(let jobs) = try await grouped(.claim(destination: destination, nowMilliseconds: now, limit: limit, lease: lease)) else { return [] }
        return jobs.withLeaseEnd(sent + .milliseconds(leaseMilliseconds))
    }

    /// Jobs of `destination` whose claim lapsed, then due pending ones, with their bodies, put under `lease` in one
    /// statement. `SKIP LOCKED`: a job another instance is claiming at this moment is left to it, not waited for.
    /// `now` is the SQL of the job clock (``PostgresStore/now(_:)``): lapses, due times and the new lease are the
    /// database's, never the claiming instance's own wall clock.
    static func claim(destination: String, now: String, limit: Int, lease: JobClaimLease, leaseMilliseconds: Int64,
                      _ connection: PostgresConnection, _ logger: Logger) async throws -> [DeliveryJob] {
        let rows = try await connection.query("""
            WITH lapsed AS (
                SELECT id, 0 AS rank, lease_until AS at FROM jobs
                WHERE destination = \(destination) AND state = 'in_flight' AND lease_until <= \(unescaped: now)
                ORDER BY lease_until, id LIMIT \(limit) FOR UPDATE SKIP LOCKED),
            due AS (
                SELECT id, 1 AS rank, next_attempt_at AS at FROM jobs
                WHERE destination = \(destination) AND state = 'pending' AND next_attempt_at <= \(unescaped: now)
                ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED),
            picked AS (
                SELECT id, rank, at FROM (SELECT * FROM lapsed UNION ALL SELECT * FROM due) p ORDER BY rank, at, id LIMIT \(limit)),
            claimed AS (
                UPDATE jobs j SET state = 'in_flight', lease = \(lease.token), lease_until = \(unescaped: now) + \(max(1, leaseMilliseconds)),
                    updated_at = \(unescaped: now)
                FROM picked WHERE j.id = picked.id
                RETURNING j.id, j.attempts, j.event_row, j.lease_until, j.subject, picked.rank, picked.at)
            SELECT c.id, c.attempts, e.event_id, e.source_id, e.provider, e.type, e.canonical, e.passthrough, c.lease_until, c.subject,
                   e.traceparent, e.tracestate
            FROM claimed c JOIN events e ON e.id = c.event_row
            ORDER BY c.rank, c.at, c.id
            """, logger: logger)
        var jobs: [DeliveryJob] = []
        for try await (id, attempts, eventID, sourceID, provider, type, canonical, passthrough, leaseUntil, subject, traceparent, tracestate)
            in rows.decode((Int64, Int, String, String, String, String, ByteBuffer, ByteBuffer?, Int64, String?, String?, String?).self) {
            jobs.append(DeliveryJob(
                id: id, destination: destination, attempts: attempts, eventID: eventID, sourceID: sourceID,
                provider: ProviderKind(rawValue: provider), type: type, canonical: Array(canonical.readableBytesView),
                passthrough: passthrough.map { Array($0.readableBytesView) }, subject: subject, lease: lease.token, leaseUntilMilliseconds: leaseUntil,
                traceContext: StoredTraceContext(traceparent: traceparent, tracestate: tracestate)))
        }
        return jobs
    }

    /// By the database's clock the earliest due time is turned into one on this host's clock (how long from now),
    /// so a worker whose wall clock is off neither spins nor oversleeps.
    public func nextDue(destination: String) async throws(StoreError) -> Int64? {
        let local = Timestamp.nowMilliseconds()
        let clock = now(local)
        return try await withClient { connection, logger in
            var due: Int64?
            for try await next in try await connection.query("""
                SELECT LEAST((SELECT MIN(next_attempt_at) FROM jobs WHERE destination = \(destination) AND state = 'pending'),
                             (SELECT MIN(lease_until) FROM jobs WHERE destination = \(destination) AND state = 'in_flight')) - \(unescaped: clock)
                """, logger: logger).decode(Int64?.self) { due = next.map { local + $0 } }
            return due
        }
    }

    @discardableResult
    public func complete(_ outcomes: [JobOutcome], nowMilliseconds now: Int64) async throws(StoreError) -> Int {
        guard !outcomes.isEmpty else { return 0 }
        guard case .completed(let fenced) = try await grouped(.complete(outcomes, nowMilliseconds: now)) else { return 0 }
        return fenced
    }

    /// Every outcome in one statement, its columns as arrays. Arrays cannot hold NULL here, so each nullable column
    /// travels with a flag saying whether it has a value. Only jobs still in flight under the outcome's claim change
    /// (the fence); returns how many outcomes it refused.
    /// `clock` is the SQL of the job clock: a retry's delay (its due time less `now`, the caller's time) counts from
    /// the database's now.
    static func complete(_ outcomes: [JobOutcome], now: Int64, clock: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int {
        // Only an outcome under the job's current lease matches the fence, so every outcome may go in: a stale one
        // (an attempt under a lapsed claim, queued through an outage) can never shadow the current one. Exact
        // repeats are dropped: one UPDATE changes a row once.
        var seen = Set<JobClaim>()
        let outcomes = outcomes.filter { seen.insert($0.claim).inserted }
        let rows = try await connection.query("""
            WITH done AS (
                UPDATE jobs j SET state = u.state, attempts = u.attempts,
                    next_attempt_at = CASE WHEN u.state = 'pending' THEN \(unescaped: clock) + (u.next_attempt_at - \(now)) ELSE u.next_attempt_at END,
                    last_status = CASE WHEN u.has_status THEN u.status END,
                    last_error = CASE WHEN u.has_error THEN u.error END,
                    last_response = CASE WHEN u.has_response THEN u.response END,
                    updated_at = \(unescaped: clock)
                FROM unnest(\(outcomes.map(\.jobID))::int8[], \(outcomes.map(\.claim.lease))::int8[], \(outcomes.map(\.state.rawValue))::text[],
                            \(outcomes.map { Int64($0.attempts) })::int8[], \(outcomes.map(\.nextAttemptAtMilliseconds))::int8[],
                            \(outcomes.map { $0.status != nil })::bool[], \(outcomes.map { Int64($0.status ?? 0) })::int8[],
                            \(outcomes.map { $0.error != nil })::bool[], \(outcomes.map { $0.error ?? "" })::text[],
                            \(outcomes.map { $0.response != nil })::bool[], \(outcomes.map { $0.response ?? "" })::text[])
                     AS u (id, lease, state, attempts, next_attempt_at, has_status, status, has_error, error, has_response, response)
                WHERE j.id = u.id AND j.state = 'in_flight' AND j.lease = u.lease
                RETURNING 1)
            SELECT count(*) FROM done
            """, logger: logger)
        var recorded = 0
        for try await n in rows.decode(Int.self) { recorded += n }
        try await insertAttempts(outcomes, connection, logger)
        try await PostgresOrdering.endTurns(outcomes, clock: clock, connection, logger)
        return outcomes.count - recorded
    }

    public func release(_ claims: [JobClaim], nowMilliseconds now: Int64) async throws(StoreError) {
        guard !claims.isEmpty else { return }
        try await withClient { connection, logger in
            // Released jobs are due for any instance: tell them (a stopping instance hands its unstarted jobs over).
            for try await _ in try await connection.query("""
                WITH released AS (
                    UPDATE jobs j SET state = 'pending', lease_until = 0, updated_at = \(unescaped: self.now(now))
                    FROM unnest(\(claims.map(\.jobID))::int8[], \(claims.map(\.lease))::int8[]) AS u (id, lease)
                    WHERE j.id = u.id AND j.state = 'in_flight' AND j.lease = u.lease
                    RETURNING j.destination)
                SELECT pg_notify(\(Self.jobsChannel), destination) FROM (SELECT DISTINCT destination FROM released) d
                """, logger: logger) {}
        }
    }

    public func takeTurn(_ name: String, holder: String, nowMilliseconds now: Int64, holdMilliseconds: Int64) async throws(StoreError) -> Bool {
        try await count("""
            WITH taken AS (
                INSERT INTO turns (name, holder, until) VALUES (\(name), \(holder), \(unescaped: self.now(now)) + \(holdMilliseconds))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                WHERE turns.holder = excluded.holder OR turns.until <= \(unescaped: self.now(now))
                RETURNING 1)
            SELECT count(*) FROM taken
            """) > 0
    }
}
