import GRDB
import RelayCore

/// The receipt ledger's rows in SQLite.
enum SQLiteLedger {
    static let columns = """
        source_id, message_id, status, rank, status_channel, channels, history, history_dropped, event_source, first_at,
        overdue_at, expect_within, overdue, expires_at
        """

    /// Applies one new status event to its message's row (created when absent), inside the ingest transaction.
    ///
    /// Most events are a message's first (every delivery completion, the first of a message's statuses), so
    /// the row is first written as a new message's would be, in one statement that does nothing when the row exists;
    /// only then is it read and written again.
    static func record(_ report: StatusReport, of event: IncomingEvent, in request: IngestRequest, _ db: Database) throws -> MessageProgress {
        let apply = { (record: inout MessageRecord) in
            record.apply(
                report, eventID: event.id, timeMilliseconds: event.eventTime, receivedAtMilliseconds: request.receivedAtMilliseconds,
                expectWithinMilliseconds: request.expectReceiptMilliseconds, expiresAtMilliseconds: request.messageExpiresAtMilliseconds)
        }
        var fresh = MessageRecord(sourceID: request.sourceID, messageID: report.messageID, expiresAtMilliseconds: request.messageExpiresAtMilliseconds)
        let progress = apply(&fresh)
        try save(fresh, db, replacing: false)
        if db.changesCount == 1 { return progress }
        let select = try db.cachedStatement(sql: "SELECT \(columns) FROM messages WHERE message_id = ? AND source_id = ?")
        guard var record = try Row.fetchOne(select, arguments: [report.messageID, request.sourceID]).map(Self.record) else { return progress }
        let applied = apply(&record)
        try save(record, db, replacing: true)
        return applied
    }

    /// The expectations' rows, inside the group's transaction (see ``Store/expect(_:)``).
    static func expect(_ request: ExpectationRequest, _ db: Database) throws -> ExpectationResult {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO messages (message_id, source_id, overdue_at, expect_within, expires_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (message_id, source_id) DO UPDATE SET
                overdue_at = CASE WHEN \(waiting) THEN excluded.overdue_at ELSE overdue_at END,
                expect_within = CASE WHEN \(waiting) THEN excluded.expect_within ELSE expect_within END,
                expires_at = MAX(expires_at, excluded.expires_at)
            """)
        let rank = try db.cachedStatement(sql: "SELECT rank FROM messages WHERE message_id = ? AND source_id = ?")
        var result = ExpectationResult(registered: 0, alreadyMet: 0)
        for expectation in request.distinct {
            let deadline = request.nowMilliseconds + expectation.withinMilliseconds
            try upsert.execute(arguments: [expectation.key, request.sourceID, deadline, expectation.withinMilliseconds,
                                           deadline + request.windowMilliseconds])
            if try Int.fetchOne(rank, arguments: [expectation.key, request.sourceID]) ?? 0 > MessageRecord.waitingRank {
                result.alreadyMet += 1
            } else {
                result.registered += 1
            }
        }
        return result
    }

    /// An existing row starts waiting only if nothing is waited for yet and it has not passed `sent`.
    static let waiting = "rank <= \(MessageRecord.waitingRank) AND overdue_at IS NULL AND overdue = 0"

    /// Marks a message overdue with no deadline left.
    static func endWait(_ sourceID: String, _ messageID: String, _ db: Database) throws {
        try db.execute(sql: "UPDATE messages SET overdue_at = NULL, overdue = 1 WHERE source_id = ? AND message_id = ?",
                       arguments: [sourceID, messageID])
    }

    /// Writes the row; without `replacing`, only if there is none yet (`changesCount` says whether it was).
    static func save(_ record: MessageRecord, _ db: Database, replacing: Bool = true) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT OR \(replacing ? "REPLACE" : "IGNORE") INTO messages (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try upsert.execute(arguments: [
            record.sourceID, record.messageID, record.status, record.rank, record.statusChannel, record.channelsColumn,
            record.historyColumn, record.historyDropped, record.eventSource, record.firstAtMilliseconds,
            record.overdueAtMilliseconds, record.expectWithinMilliseconds, record.overdue, record.expiresAtMilliseconds,
        ])
    }

    static func record(_ row: Row) -> MessageRecord {
        var record = MessageRecord(sourceID: row["source_id"], messageID: row["message_id"], expiresAtMilliseconds: row["expires_at"])
        record.status = row["status"]
        record.rank = row["rank"]
        record.statusChannel = row["status_channel"]
        record.channels = MessageRecord.channels(fromColumn: row["channels"])
        record.history = MessageRecord.history(fromColumn: row["history"])
        record.historyDropped = row["history_dropped"]
        record.eventSource = row["event_source"]
        record.firstAtMilliseconds = row["first_at"]
        record.overdueAtMilliseconds = row["overdue_at"]
        record.expectWithinMilliseconds = row["expect_within"]
        record.overdue = row["overdue"]
        return record
    }
}

extension SQLiteStore {
    public func message(sourceID: String, messageID: String) async throws(StoreError) -> MessageRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT \(SQLiteLedger.columns) FROM messages WHERE source_id = ? AND message_id = ?",
                             arguments: [sourceID, messageID]).map(SQLiteLedger.record)
        }
    }

    public func messages(messageID: String) async throws(StoreError) -> [MessageRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(SQLiteLedger.columns) FROM messages WHERE message_id = ? ORDER BY source_id LIMIT 100",
                             arguments: [messageID]).map(SQLiteLedger.record)
        }
    }

    public func dueOverdue(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> [OverdueMessage] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(SQLiteLedger.columns) FROM messages INDEXED BY messages_overdue
                WHERE overdue_at IS NOT NULL AND overdue_at <= ? ORDER BY overdue_at LIMIT ?
                """, arguments: [nowMilliseconds, limit]).map { OverdueMessage(SQLiteLedger.record($0)) }
        }
    }

    public func expireMessages(nowMilliseconds: Int64, limit: Int) async throws(StoreError) -> Int {
        try await expire("messages", key: "message_id, source_id", nowMilliseconds: nowMilliseconds, limit: limit)
    }
}
