import GRDB

/// Ordered delivery on SQLite (SPEC section 14), inside the one writer's transactions: nothing comes between a
/// subject's count and the jobs it counts.
///
/// `subject_heads` holds, per (destination, subject) with unfinished ordered jobs, how many there are. Exactly one
/// of them is ever `pending` or `in_flight` (the head); the others are `held`, and the claim reads only pending and
/// lapsed jobs, so it needs no ordering condition of its own.
enum SQLiteOrdering {
    /// Counts a new job of `key`; returns whether it is the head (no earlier job of the subject is unfinished).
    static func open(_ key: SubjectKey, _ db: Database) throws -> Bool {
        let open = try Int.fetchOne(db.cachedStatement(sql: """
            INSERT INTO subject_heads (destination, subject, open) VALUES (?, ?, 1)
            ON CONFLICT (destination, subject) DO UPDATE SET open = open + 1
            RETURNING open
            """), arguments: [key.destination, key.subject])
        return open == 1
    }

    /// Ends the turn of each head that `outcomes` finished (delivered or dead) and lets its subject's next job go.
    /// A job ends its turn once: its `subject` is cleared as it does, so an outcome refused by the fence, or the
    /// same job finished again after a replay, moves nothing.
    static func endTurns(_ outcomes: [JobOutcome], now: Int64, _ db: Database) throws {
        for outcome in outcomes where outcome.endsTurn {
            guard let key = outcome.claim.subject else { continue }
            try db.cachedStatement(sql: """
                UPDATE jobs SET subject = NULL WHERE id = ? AND subject IS NOT NULL AND state IN ('delivered', 'dead')
                """).execute(arguments: [outcome.jobID])
            guard db.changesCount == 1 else { continue }
            let open = try Int.fetchOne(db.cachedStatement(sql: """
                UPDATE subject_heads SET open = open - 1 WHERE destination = ? AND subject = ? RETURNING open
                """), arguments: [key.destination, key.subject]) ?? 0
            if open > 0 {
                try db.cachedStatement(sql: """
                    UPDATE jobs SET state = 'pending', next_attempt_at = ?1, updated_at = ?1
                    WHERE id = (SELECT id FROM jobs WHERE destination = ?2 AND subject = ?3 AND state = 'held' ORDER BY id LIMIT 1)
                    """).execute(arguments: [now, key.destination, key.subject])
            } else {
                try db.cachedStatement(sql: "DELETE FROM subject_heads WHERE destination = ? AND subject = ? AND open <= 0")
                    .execute(arguments: [key.destination, key.subject])
            }
        }
    }
}
