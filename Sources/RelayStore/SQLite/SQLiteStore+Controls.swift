import Foundation
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

/// Event lookup in SQLite: the dedup key (its primary key) names the event's row, so a lookup reads two rows and the
/// event's jobs by index, whatever the store holds.
extension SQLiteStore {
    public func event(sourceID: String, eventID: String) async throws(StoreError) -> EventDetail? {
        try await read { db in
            guard let event = try Row.fetchOne(db, sql: """
                SELECT e.id, e.type, e.received_at, e.canonical FROM dedup_keys d JOIN events e ON e.id = d.event_row
                WHERE d.source_id = ? AND d.event_id = ?
                """, arguments: [sourceID, eventID]) else { return nil }
            let row: Int64 = event["id"]
            let jobs = try Row.fetchAll(db, sql: """
                SELECT id, destination, state, attempts, next_attempt_at, updated_at, last_status, last_error, last_response
                FROM jobs WHERE event_row = ? ORDER BY destination
                """, arguments: [row]).map { j in
                EventDetail.Job(id: j["id"], destination: j["destination"], state: j["state"], attempts: j["attempts"],
                                nextAttemptAtMilliseconds: j["next_attempt_at"], updatedAtMilliseconds: j["updated_at"],
                                lastStatus: j["last_status"], lastError: j["last_error"], lastResponse: j["last_response"])
            }
            let canonical: Data = event["canonical"]
            return EventDetail(sourceID: sourceID, eventID: eventID, type: event["type"], receivedAtMilliseconds: event["received_at"],
                               canonical: Array(canonical), jobs: jobs)
        }
    }
}
