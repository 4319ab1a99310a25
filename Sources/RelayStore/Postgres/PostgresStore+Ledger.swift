import Logging
import PostgresNIO
import RelayCore

/// The receipt ledger's rows in PostgreSQL.
///
/// A group's status events are applied in two statements, whatever their number: one upsert that locks every message
/// row they touch (creating the missing ones) and returns it, then one update writing the rows back. The lock is the
/// row's own (`ON CONFLICT DO UPDATE` takes it, and waits for another instance's transaction holding it), so two
/// instances applying events of one message apply them one after the other: no lost update. Rows are locked in one
/// order (sorted), so two groups never wait on each other in a cycle.
extension PostgresStore {
    struct MessageKey: Hashable, Comparable {
        var source: String
        var message: String
        static func < (a: Self, b: Self) -> Bool { (a.source, a.message) < (b.source, b.message) }
    }

    /// Applies the status events among `events` (new ones, in order) to their ledgers; per event, its progress.
    static func record(_ events: [(request: IngestRequest, item: IngestRequest.Event)], _ connection: PostgresConnection,
                       _ logger: Logger) async throws -> [MessageProgress?] {
        var expiry: [MessageKey: Int64] = [:]
        for (request, item) in events {
            guard let report = item.event.status else { continue }
            let key = MessageKey(source: request.sourceID, message: report.messageID)
            expiry[key] = max(expiry[key] ?? 0, request.messageExpiresAtMilliseconds)
        }
        guard !expiry.isEmpty else { return Array(repeating: nil, count: events.count) }
        let keys = expiry.keys.sorted()
        let rows = try await connection.query("""
            INSERT INTO messages (source_id, message_id, expires_at)
            SELECT * FROM unnest(\(keys.map(\.source))::text[], \(keys.map(\.message))::text[], \(keys.map { expiry[$0]! })::int8[])
                AS u (source_id, message_id, expires_at)
            ORDER BY source_id, message_id
            ON CONFLICT (message_id, source_id) DO UPDATE SET expires_at = messages.expires_at
            RETURNING to_jsonb(messages.*)::text
            """, logger: logger)
        var records: [MessageKey: MessageRecord] = [:]
        for try await text in rows.decode(String.self) {
            guard let record = Self.record(json: text) else { continue }
            records[MessageKey(source: record.sourceID, message: record.messageID)] = record
        }
        var progress: [MessageProgress?] = []
        progress.reserveCapacity(events.count)
        for (request, item) in events {
            guard let report = item.event.status,
                  var record = records[MessageKey(source: request.sourceID, message: report.messageID)] else {
                progress.append(nil)
                continue
            }
            progress.append(record.apply(
                report, eventID: item.event.id, timeMilliseconds: item.event.eventTime,
                receivedAtMilliseconds: request.receivedAtMilliseconds, expectWithinMilliseconds: request.expectReceiptMilliseconds,
                expiresAtMilliseconds: request.messageExpiresAtMilliseconds))
            records[MessageKey(source: record.sourceID, message: record.messageID)] = record
        }
        try await save(Array(records.values), connection, logger)
        return progress
    }

    /// The expectations' rows in one statement (see ``Store/expect(_:)``): the upsert locks each row, so an
    /// expectation and its delivery arriving at once on two instances are applied one after the other.
    static func expect(_ request: ExpectationRequest, _ connection: PostgresConnection, _ logger: Logger) async throws -> ExpectationResult {
        let items = request.distinct
        guard !items.isEmpty else { return ExpectationResult(registered: 0, alreadyMet: 0) }
        let deadlines = items.map { request.nowMilliseconds + $0.withinMilliseconds }
        let waiting = "messages.rank <= \(MessageRecord.waitingRank) AND messages.overdue_at IS NULL AND NOT messages.overdue"
        let rows = try await connection.query("""
            INSERT INTO messages (message_id, source_id, overdue_at, expect_within, expires_at)
            SELECT message_id, \(request.sourceID), overdue_at, expect_within, overdue_at + \(request.windowMilliseconds)
            FROM unnest(\(items.map(\.key))::text[], \(deadlines)::int8[], \(items.map(\.withinMilliseconds))::int8[])
                AS u (message_id, overdue_at, expect_within)
            ORDER BY message_id
            ON CONFLICT (message_id, source_id) DO UPDATE SET
                overdue_at = CASE WHEN \(unescaped: waiting) THEN excluded.overdue_at ELSE messages.overdue_at END,
                expect_within = CASE WHEN \(unescaped: waiting) THEN excluded.expect_within ELSE messages.expect_within END,
                expires_at = GREATEST(messages.expires_at, excluded.expires_at)
            RETURNING rank
            """, logger: logger)
        var result = ExpectationResult(registered: 0, alreadyMet: 0)
        for try await rank in rows.decode(Int.self) {
            if rank > MessageRecord.waitingRank { result.alreadyMet += 1 } else { result.registered += 1 }
        }
        return result
    }

    /// An overdue event stored before (by another scan) still ends the wait it was emitted for.
    static func endWaits(_ requests: [IngestRequest], _ outcomes: [IngestOutcome], _ connection: PostgresConnection, _ logger: Logger) async throws {
        var sources: [String] = []
        var messages: [String] = []
        var index = 0
        for request in requests {
            for item in request.events {
                if !outcomes[index].isNew, let report = item.event.status, report.kind == .overdue {
                    sources.append(request.sourceID)
                    messages.append(report.messageID)
                }
                index += 1
            }
        }
        guard !sources.isEmpty else { return }
        try await connection.query("""
            UPDATE messages m SET overdue_at = NULL, overdue = true
            FROM unnest(\(sources)::text[], \(messages)::text[]) AS u (source_id, message_id)
            WHERE m.source_id = u.source_id AND m.message_id = u.message_id
            """, logger: logger)
    }

    /// Writes ledgers back (their rows exist and are locked by this transaction), one statement for all.
    static func save(_ records: [MessageRecord], _ connection: PostgresConnection, _ logger: Logger) async throws {
        guard !records.isEmpty else { return }
        try await connection.query("""
            UPDATE messages m SET
                status = u.j->>'status', rank = (u.j->>'rank')::int, status_channel = u.j->>'status_channel',
                channels = u.j->>'channels', history = u.j->>'history', history_dropped = (u.j->>'history_dropped')::int,
                event_source = u.j->>'event_source', first_at = (u.j->>'first_at')::int8, overdue_at = (u.j->>'overdue_at')::int8,
                expect_within = (u.j->>'expect_within')::int8, overdue = (u.j->>'overdue')::bool,
                expires_at = (u.j->>'expires_at')::int8
            FROM (SELECT j::jsonb AS j FROM unnest(\(records.map(Self.json))::text[]) AS t (j)) u
            WHERE m.source_id = u.j->>'source_id' AND m.message_id = u.j->>'message_id'
            """, logger: logger)
    }

    /// A ledger as one JSON object named by its columns (how it is sent to and read from the database).
    static func json(_ record: MessageRecord) -> String {
        var object = JSONObject()
        object.append("source_id", .string(record.sourceID))
        object.append("message_id", .string(record.messageID))
        object.append("status", record.status.map(JSONValue.string) ?? .null)
        object.append("rank", .integer(record.rank))
        object.append("status_channel", record.statusChannel.map(JSONValue.string) ?? .null)
        object.append("channels", .string(record.channelsColumn))
        object.append("history", .string(record.historyColumn))
        object.append("history_dropped", .integer(record.historyDropped))
        object.append("event_source", record.eventSource.map(JSONValue.string) ?? .null)
        object.append("first_at", record.firstAtMilliseconds.map(JSONValue.integer) ?? .null)
        object.append("overdue_at", record.overdueAtMilliseconds.map(JSONValue.integer) ?? .null)
        object.append("expect_within", record.expectWithinMilliseconds.map(JSONValue.integer) ?? .null)
        object.append("overdue", .bool(record.overdue))
        object.append("expires_at", .integer(record.expiresAtMilliseconds))
        return String(decoding: JSONWriter.serialize(.object(object)), as: UTF8.self)
    }

    static func record(json text: String) -> MessageRecord? {
        guard let row = try? JSONParser.parse(text), let source = row["source_id"]?.stringValue,
              let message = row["message_id"]?.stringValue else { return nil }
        var record = MessageRecord(sourceID: source, messageID: message, expiresAtMilliseconds: row["expires_at"]?.int64Value ?? 0)
        record.status = row["status"]?.stringValue
        record.rank = Int(row["rank"]?.int64Value ?? 0)
        record.statusChannel = row["status_channel"]?.stringValue
        record.channels = MessageRecord.channels(fromColumn: row["channels"]?.stringValue ?? "[]")
        record.history = MessageRecord.history(fromColumn: row["history"]?.stringValue ?? "")
        record.historyDropped = Int(row["history_dropped"]?.int64Value ?? 0)
        record.eventSource = row["event_source"]?.stringValue
        record.firstAtMilliseconds = row["first_at"]?.int64Value
        record.overdueAtMilliseconds = row["overdue_at"]?.int64Value
        record.expectWithinMilliseconds = row["expect_within"]?.int64Value
        record.overdue = row["overdue"]?.boolValue ?? false
        return record
    }

    func records(_ query: PostgresQuery) async throws(StoreError) -> [MessageRecord] {
        try await withClient { connection, logger in
            var records: [MessageRecord] = []
            for try await text in try await connection.query(query, logger: logger).decode(String.self) {
                if let record = Self.record(json: text) { records.append(record) }
            }
            return records
        }
    }

    public func message(sourceID: String, messageID: String) async throws(StoreError) -> MessageRecord? {
        try await records("SELECT to_jsonb(m.*)::text FROM messages m WHERE source_id = \(sourceID) AND message_id = \(messageID)").first
    }

    public func messages(messageID: String) async throws(StoreError) -> [MessageRecord] {
        try await records("SELECT to_jsonb(m.*)::text FROM messages m WHERE message_id = \(messageID) ORDER BY source_id LIMIT 100")
    }

    public func dueOverdue(nowMilliseconds now: Int64, limit: Int) async throws(StoreError) -> [OverdueMessage] {
        try await records("""
            SELECT to_jsonb(m.*)::text FROM messages m WHERE overdue_at IS NOT NULL AND overdue_at <= \(now)
            ORDER BY overdue_at LIMIT \(limit)
            """).map(OverdueMessage.init)
    }

    public func expireMessages(nowMilliseconds now: Int64, limit: Int) async throws(StoreError) -> Int {
        try await expire("messages", key: "message_id, source_id", nowMilliseconds: now, limit: limit)
    }
}
