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
            try Self.raisePauseVersion(db)
        }
    }

    static func raisePauseVersion(_ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO meta (key, value) VALUES ('pause_version', 1) ON CONFLICT (key) DO UPDATE SET value = meta.value + 1
            """)
    }

    public func pauseVersion() async throws(StoreError) -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'pause_version'") ?? 0 }
    }

    public func acknowledgePauses(instance: String, version: Int64, nowMilliseconds now: Int64) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO pause_acks (instance, version, seen_at) VALUES (?, ?, ?)
                ON CONFLICT (instance) DO UPDATE SET version = excluded.version, seen_at = excluded.seen_at
                """, arguments: [instance, version, now])
            // Instances gone for a day are forgotten.
            try db.execute(sql: "DELETE FROM pause_acks WHERE seen_at < ?", arguments: [now - 86_400_000])
        }
    }

    public func pauseAcknowledgements(withinMilliseconds within: Int64, nowMilliseconds now: Int64) async throws(StoreError) -> [PauseAcknowledgement] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT instance, version, seen_at FROM pause_acks WHERE seen_at >= ? ORDER BY instance", arguments: [now - within])
                .map { PauseAcknowledgement(instance: $0[0], version: $0[1], seenAtMilliseconds: $0[2]) }
        }
    }

    public func resume(destination: String, nowMilliseconds now: Int64) async throws(StoreError) -> Bool {
        try await write(durable: true) { db in
            try db.execute(sql: "DELETE FROM destination_pauses WHERE destination = ? AND (until IS NULL OR until > ?)",
                           arguments: [destination, now])
            let changed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM destination_pauses WHERE destination = ?", arguments: [destination])
            try Self.raisePauseVersion(db)
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
                """, arguments: [row]).map { j throws in
                EventDetail.Job(id: j["id"], destination: j["destination"], state: j["state"], attempts: j["attempts"],
                                nextAttemptAtMilliseconds: j["next_attempt_at"], updatedAtMilliseconds: j["updated_at"],
                                lastStatus: j["last_status"], lastError: j["last_error"], lastResponse: j["last_response"],
                                history: try SQLiteStore.attempts(ofJob: j["id"], db))
            }
            let canonical: Data = event["canonical"]
            return EventDetail(sourceID: sourceID, eventID: eventID, type: event["type"], receivedAtMilliseconds: event["received_at"],
                               canonical: Array(canonical), jobs: jobs)
        }
    }
}
