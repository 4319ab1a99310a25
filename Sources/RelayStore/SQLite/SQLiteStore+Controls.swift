import GRDB
import RelayCore

/// Destination pauses in SQLite (SPEC section 12).
extension SQLiteStore {
    public func pause(destination: String, untilMilliseconds: Int64?, nowMilliseconds now: Int64) async throws(StoreError) {
        try await write(durable: true) { db in
            try db.execute(sql: """
                INSERT INTO destination_pauses (destination, since, until) VALUES (?, ?, ?)
                ON CONFLICT (destination) DO UPDATE SET until = excluded.until,
                    since = CASE WHEN destination_pauses.until IS NOT NULL AND destination_pauses.until <= ?
                                 THEN excluded.since ELSE destination_pauses.since END
                """, arguments: [destination, now, untilMilliseconds, now])
        }
    }

    public func resume(destination: String, nowMilliseconds now: Int64) async throws(StoreError) -> Bool {
        try await write(durable: true) { db in
            try db.execute(sql: "DELETE FROM destination_pauses WHERE destination = ? AND (until IS NULL OR until > ?)",
                           arguments: [destination, now])
            let changed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM destination_pauses WHERE destination = ?", arguments: [destination])
            return changed
        }
    }

    public func pauses(nowMilliseconds now: Int64) async throws(StoreError) -> [DestinationPause] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT destination, since, until FROM destination_pauses WHERE until IS NULL OR until > ? ORDER BY destination
                """, arguments: [now]).map { DestinationPause(destination: $0["destination"], sinceMilliseconds: $0["since"], untilMilliseconds: $0["until"]) }
        }
    }
}
