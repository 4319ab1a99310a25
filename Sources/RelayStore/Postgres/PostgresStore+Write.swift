import Logging
import PostgresNIO
import RelayCore

extension PostgresStore {
    /// Commits one group: every ingest of the group in three statements (dedup keys, events, jobs), then the claims
    /// and outcomes in the order they were queued, all in one transaction.
    func write(_ operations: [WriteOperation], on connection: PostgresConnection) async throws -> [WriteResult] {
        let logger = logger
        return try await connection.withTransaction(logger: logger) { connection in
            // Only a group that stores events must wait for its commit to reach the disk (its requests are answered
            // after it). Claims and outcomes alone skip the flush: losing one to a crash only sends a job again.
            if !operations.contains(where: \.needsFsync) {
                try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
            }
            let requests = operations.compactMap { operation -> IngestRequest? in
                if case .ingest(let request) = operation { return request }
                return nil
            }
            // The rows of every ordered subject this group touches are locked first, in one order, so two instances'
            // groups never wait on each other's subjects in a cycle (see `PostgresOrdering`).
            let subjects = PostgresOrdering.keys(of: operations)
            try await PostgresOrdering.lock(subjects, connection, logger)
            var accepted = try await Self.insert(requests, jobTime: jobClock == .database ? Self.databaseNow : "at", connection, logger)[...]
            var results: [WriteResult] = []
            results.reserveCapacity(operations.count)
            for operation in operations {
                switch operation {
                case .ingest(let request):
                    results.append(.ingested(Array(accepted.prefix(request.events.count))))
                    accepted = accepted.dropFirst(request.events.count)
                case .claim(let destination, let now, let limit, let lease):
                    results.append(.claimed(try await Self.claim(
                        destination: destination, now: self.now(now), limit: limit, lease: lease,
                        leaseMilliseconds: lease.untilMilliseconds - now, connection, logger)))
                case .complete(let outcomes, let now):
                    results.append(.completed(fenced: try await Self.complete(outcomes, now: now, clock: self.now(now), connection, logger)))
                case .expect(let request):
                    results.append(.expected(try await Self.expect(request, connection, logger)))
                }
            }
            try await PostgresOrdering.sweep(subjects, connection, logger)
            // The console's minute figures ride on the same commit: one statement, one row per minute figure.
            try await Self.add(MinuteTally(operations, results), connection, logger)
            return results
        }
    }

    /// The rows of a group's requests; per event, in order, whether it was new.
    ///
    /// A key seen twice in the group counts once (the first copy), as it would in one transaction inserting row by
    /// row; the database decides the rest, so a copy committed by another instance (or a moment ago) is refused.
    /// Keys are inserted in one order (sorted), so two instances' groups never wait on each other's keys in a cycle.
    /// New jobs are due at `jobTime`: the SQL of the job clock, or `at` (the request's time, with the caller's clock).
    static func insert(_ requests: [IngestRequest], jobTime: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> [IngestOutcome] {
        struct Key: Hashable { var source: String, event: String }
        var firstCopy = Set<Key>()
        var candidates: [(key: Key, expires: Int64, now: Int64)] = []
        var isCandidate: [Bool] = []
        for request in requests {
            for item in request.events {
                let key = Key(source: request.sourceID, event: item.event.id)
                let first = firstCopy.insert(key).inserted
                isCandidate.append(first)
                if first { candidates.append((key, request.dedupExpiresAtMilliseconds, request.receivedAtMilliseconds)) }
            }
        }
        guard !candidates.isEmpty else { return isCandidate.map { _ in .duplicate } }
        // A held key is taken over only once expired (as of the request that brings it again).
        let rows = try await connection.query("""
            WITH k AS (SELECT * FROM unnest(\(candidates.map(\.key.source))::text[], \(candidates.map(\.key.event))::text[],
                                            \(candidates.map(\.expires))::int8[], \(candidates.map(\.now))::int8[])
                       AS k (source_id, event_id, expires_at, now))
            INSERT INTO dedup_keys (source_id, event_id, expires_at)
            SELECT source_id, event_id, expires_at FROM k ORDER BY source_id, event_id
            ON CONFLICT (source_id, event_id) DO UPDATE SET expires_at = excluded.expires_at
            WHERE dedup_keys.expires_at <= (SELECT k.now FROM k WHERE k.source_id = excluded.source_id AND k.event_id = excluded.event_id)
            RETURNING source_id, event_id
            """, logger: logger)
        var won = Set<Key>()
        for try await (source, event) in rows.decode((String, String).self) { won.insert(Key(source: source, event: event)) }

        var accepted: [IngestOutcome] = []
        accepted.reserveCapacity(isCandidate.count)
        var events: [(request: IngestRequest, item: IngestRequest.Event)] = []
        var acceptedIndex: [Int] = []
        var index = 0
        for request in requests {
            for item in request.events {
                let new = isCandidate[index] && won.contains(Key(source: request.sourceID, event: item.event.id))
                accepted.append(new ? IngestOutcome(isNew: true) : .duplicate)
                if new {
                    events.append((request, item))
                    acceptedIndex.append(index)
                }
                index += 1
            }
        }
        try await endWaits(requests, accepted, connection, logger)
        guard !events.isEmpty else { return accepted }
        let progress = try await record(events, connection, logger)
        for (position, value) in zip(acceptedIndex, progress) { accepted[position].progress = value }
        let canonical = zip(events, progress).map { event, progress in
            ByteBuffer(bytes: progress.map(event.item.event.canonical(with:)) ?? event.item.event.canonical)
        }

        let eventRows = try await connection.query("""
            INSERT INTO events (source_id, event_id, provider, type, event_time, received_at, redelivery, canonical, passthrough,
                                traceparent, tracestate)
            SELECT source_id, event_id, provider, type, event_time, received_at, redelivery, canonical,
                   CASE WHEN has_passthrough THEN passthrough END, NULLIF(traceparent, ''), NULLIF(tracestate, '')
            FROM unnest(\(events.map(\.request.sourceID))::text[], \(events.map(\.item.event.id))::text[],
                        \(events.map(\.request.provider.rawValue))::text[], \(events.map(\.item.event.type))::text[],
                        \(events.map(\.item.event.eventTime))::int8[], \(events.map(\.request.receivedAtMilliseconds))::int8[],
                        \(events.map(\.item.event.redelivery))::bool[], \(canonical)::bytea[],
                        \(events.map(\.item.keepPassthrough))::bool[],
                        \(events.map { $0.item.keepPassthrough ? ByteBuffer(bytes: $0.item.event.passthrough) : ByteBuffer() })::bytea[],
                        \(events.map { $0.request.traceContext?.traceparent ?? "" })::text[],
                        \(events.map { $0.request.traceContext?.tracestate ?? "" })::text[])
                 AS u (source_id, event_id, provider, type, event_time, received_at, redelivery, canonical, has_passthrough, passthrough,
                       traceparent, tracestate)
            RETURNING id, source_id, event_id
            """, logger: logger)
        // Accepted keys are unique in the group, so each names one new event row.
        var rowOf: [Key: Int64] = [:]
        for try await (id, source, event) in eventRows.decode((Int64, String, String).self) { rowOf[Key(source: source, event: event)] = id }

        var jobRows: [Int64] = []
        var jobDestinations: [String] = []
        var jobTimes: [Int64] = []
        var jobSubjects: [SubjectKey?] = []
        for ((request, item), progress) in zip(events, progress) {
            guard let row = rowOf[Key(source: request.sourceID, event: item.event.id)] else { continue }
            var seen = Set<String>()
            for destination in item.jobDestinations(progress) where seen.insert(destination).inserted {
                jobRows.append(row)
                jobDestinations.append(destination)
                jobTimes.append(request.receivedAtMilliseconds)
                jobSubjects.append(item.orderedSubject(for: destination, in: request))
            }
        }
        guard !jobRows.isEmpty else { return accepted }
        // Jobs are inserted in this order (ids from one sequence), and a subject's held jobs go in id order.
        let jobStates = try await PostgresOrdering.open(jobSubjects, connection, logger)
        // The new jobs' destinations are notified in the same statement: PostgreSQL delivers the notices on commit
        // (once per destination and transaction), and every instance's dispatcher starts attempt 1 at once.
        try await connection.query("""
            WITH created AS (
                INSERT INTO jobs (event_row, destination, state, subject, attempts, next_attempt_at, created_at, updated_at)
                SELECT event_row, destination, state, CASE WHEN has_subject THEN subject END, 0,
                       \(unescaped: jobTime), \(unescaped: jobTime), \(unescaped: jobTime)
                FROM unnest(\(jobRows)::int8[], \(jobDestinations)::text[], \(jobTimes)::int8[], \(jobStates)::text[],
                            \(jobSubjects.map { $0 != nil })::bool[], \(jobSubjects.map { $0?.subject ?? "" })::text[])
                     WITH ORDINALITY AS u (event_row, destination, at, state, has_subject, subject, position)
                ORDER BY position
                RETURNING destination)
            SELECT pg_notify(\(jobsChannel), destination) FROM (SELECT DISTINCT destination FROM created) d
            """, logger: logger)
        return accepted
    }
}
