import Logging
import PostgresNIO

/// Ordered delivery on PostgreSQL (SPEC section 14), shared by every instance.
///
/// `subject_heads` holds, per (destination, subject) with unfinished ordered jobs, how many there are; exactly one of
/// them is `pending` or `in_flight` (the head), the others are `held`. The claim reads only pending and lapsed jobs,
/// so it stays one indexed statement with no ordering condition, and two instances can never claim two jobs of one
/// subject: only one is claimable, and `FOR UPDATE SKIP LOCKED` already keeps two claims off one job.
///
/// What keeps the count true under concurrency is the subject's row as a lock: every group that adds a job to a
/// subject or ends its head's turn locks that row first (`lock`, in one sorted order, so groups never wait on each
/// other in a cycle) and holds it to its commit. A new job is the head only when the count it finds is 0; the head's
/// end promotes the lowest held id, read by a statement that starts after the lock was taken, so it sees every job a
/// competing group committed before it. Job ids come from one sequence while the row is locked: id order is commit
/// order within a subject.
enum PostgresOrdering {
    /// The subjects a group's operations touch: those its events may open (every ordered destination an event may get
    /// a job for, advancing or not) and those its outcomes end a turn of.
    static func keys(of operations: [WriteOperation]) -> [SubjectKey] {
        var keys = Set<SubjectKey>()
        for operation in operations {
            switch operation {
            case .ingest(let request) where !request.orderedDestinations.isEmpty:
                for item in request.events {
                    for destination in item.destinations + item.advancingDestinations {
                        if let key = item.orderedSubject(for: destination, in: request) { keys.insert(key) }
                    }
                }
            case .complete(let outcomes, _):
                for outcome in outcomes where outcome.endsTurn { if let key = outcome.claim.subject { keys.insert(key) } }
            default: break
            }
        }
        return keys.sorted()
    }

    /// Locks the rows of `keys` (making those that do not exist, at 0) in their sorted order.
    static func lock(_ keys: [SubjectKey], _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard !keys.isEmpty else { return }
        try await connection.query("""
            INSERT INTO subject_heads (destination, subject, open)
            SELECT d, s, 0 FROM unnest(\(keys.map(\.destination))::text[], \(keys.map(\.subject))::text[]) AS k (d, s) ORDER BY d, s
            ON CONFLICT (destination, subject) DO UPDATE SET open = subject_heads.open
            """, logger: logger)
    }

    /// Deletes the rows of `keys` that count no job any more (locked by this group; a competing group waits for its
    /// commit and then makes the row anew).
    static func sweep(_ keys: [SubjectKey], _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard !keys.isEmpty else { return }
        try await connection.query("""
            DELETE FROM subject_heads h USING unnest(\(keys.map(\.destination))::text[], \(keys.map(\.subject))::text[]) AS k (d, s)
            WHERE h.destination = k.d AND h.subject = k.s AND h.open <= 0
            """, logger: logger)
    }

    /// Counts new jobs, one per element of `subjects` (nil: not ordered), in insertion order; returns each job's
    /// state: `pending` for an unordered job and for a subject's head, `held` behind it.
    static func open(_ subjects: [SubjectKey?], _ connection: PostgresConnection, _ logger: Logger) async throws -> [String] {
        var added: [SubjectKey: Int64] = [:]
        var order: [SubjectKey] = []
        for case let key? in subjects {
            if added[key] == nil { order.append(key) }
            added[key, default: 0] += 1
        }
        guard !order.isEmpty else { return subjects.map { _ in "pending" } }
        let rows = try await connection.query("""
            INSERT INTO subject_heads (destination, subject, open)
            SELECT d, s, n FROM unnest(\(order.map(\.destination))::text[], \(order.map(\.subject))::text[], \(order.map { added[$0]! })::int8[])
                AS k (d, s, n) ORDER BY d, s
            ON CONFLICT (destination, subject) DO UPDATE SET open = subject_heads.open + excluded.open
            RETURNING destination, subject, open
            """, logger: logger)
        var before: [SubjectKey: Int64] = [:]
        for try await (destination, subject, open) in rows.decode((String, String, Int64).self) {
            let key = SubjectKey(destination: destination, subject: subject)
            before[key] = open - (added[key] ?? 0)
        }
        return subjects.map { key in
            guard let key else { return "pending" }
            // The first new job of a subject with nothing unfinished is its head; every later one waits.
            if before[key] == 0 {
                before[key] = 1
                return "pending"
            }
            return "held"
        }
    }

    /// Ends the turn of each head that `outcomes` finished (delivered or dead) and lets its subject's next job go,
    /// due at once (`clock`: the SQL of the job clock). A job ends its turn once: its `subject` is cleared as it
    /// does, so an outcome the fence refused, or a replayed job finishing again, moves nothing.
    static func endTurns(_ outcomes: [JobOutcome], clock: String, _ connection: PostgresConnection, _ logger: Logger) async throws {
        var keyOf: [Int64: SubjectKey] = [:]
        for outcome in outcomes where outcome.endsTurn { keyOf[outcome.jobID] = outcome.claim.subject }
        guard !keyOf.isEmpty else { return }
        var ended: [SubjectKey: Int64] = [:]
        for try await id in try await connection.query("""
            UPDATE jobs SET subject = NULL
            WHERE id = ANY(\(Array(keyOf.keys))::int8[]) AND subject IS NOT NULL AND state IN ('delivered', 'dead')
            RETURNING id
            """, logger: logger).decode(Int64.self) {
            if let key = keyOf[id] { ended[key, default: 0] += 1 }
        }
        guard !ended.isEmpty else { return }
        let keys = ended.keys.sorted()
        var next: [SubjectKey] = []
        for try await (destination, subject, open) in try await connection.query("""
            UPDATE subject_heads h SET open = h.open - k.n
            FROM unnest(\(keys.map(\.destination))::text[], \(keys.map(\.subject))::text[], \(keys.map { ended[$0]! })::int8[]) AS k (d, s, n)
            WHERE h.destination = k.d AND h.subject = k.s
            RETURNING h.destination, h.subject, h.open
            """, logger: logger).decode((String, String, Int64).self) where open > 0 {
            next.append(SubjectKey(destination: destination, subject: subject))
        }
        guard !next.isEmpty else { return }
        // A statement of its own, after the rows were locked: it sees the held jobs of groups that committed first.
        // The promoted jobs' destinations are told, as for new jobs, so any instance's worker claims them at once.
        try await connection.query("""
            WITH promoted AS (
                UPDATE jobs j SET state = 'pending', next_attempt_at = \(unescaped: clock), updated_at = \(unescaped: clock)
                FROM (SELECT (SELECT h.id FROM jobs h WHERE h.destination = k.d AND h.subject = k.s AND h.state = 'held' ORDER BY h.id LIMIT 1) AS id
                      FROM unnest(\(next.map(\.destination))::text[], \(next.map(\.subject))::text[]) AS k (d, s)) p
                WHERE j.id = p.id AND j.state = 'held'
                RETURNING j.destination)
            SELECT pg_notify(\(PostgresStore.jobsChannel), destination) FROM (SELECT DISTINCT destination FROM promoted) d
            """, logger: logger)
    }
}
