import RelayCore

/// How a ``MessageRecord``'s lists are kept in its row (both stores): the channels as one JSON array, the timeline as
/// JSON objects, one per line, so appending is a concatenation and reading never needs the database's JSON support.
extension MessageRecord {
    /// `[["whatsapp","read",5], ...]`.
    var channelsColumn: String {
        let items: [JSONValue] = channels.map { .array([.string($0.name), .string($0.status), .integer($0.rank)]) }
        return String(decoding: JSONWriter.serialize(.array(items)), as: UTF8.self)
    }

    /// One JSON object per entry, newline-separated.
    var historyColumn: String {
        history.map { Self.line($0) }.joined(separator: "\n")
    }

    static func line(_ entry: Entry) -> String {
        var object = JSONObject()
        object.append("event_id", .string(entry.eventID))
        object.append("status", .string(entry.status))
        object.append("detail", entry.detail.map(JSONValue.string))
        object.append("channel", .string(entry.channel))
        object.append("time", .integer(entry.timeMilliseconds))
        object.append("received_at", .integer(entry.receivedAtMilliseconds))
        object.append("advanced", .bool(entry.advanced))
        return String(decoding: JSONWriter.serialize(.object(object)), as: UTF8.self)
    }

    static func channels(fromColumn text: String) -> [Channel] {
        guard let items = (try? JSONParser.parse(text))?.arrayValue else { return [] }
        return items.compactMap { item in
            guard let parts = item.arrayValue, parts.count == 3, let name = parts[0].stringValue,
                  let status = parts[1].stringValue, let rank = parts[2].int64Value else { return nil }
            return Channel(name: name, status: status, rank: Int(rank))
        }
    }

    static func history(fromColumn text: String) -> [Entry] {
        text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONParser.parse(String(line)), let eventID = object["event_id"]?.stringValue,
                  let status = object["status"]?.stringValue else { return nil }
            return Entry(
                eventID: eventID, status: status, detail: object["detail"]?.stringValue,
                channel: object["channel"]?.stringValue ?? "", timeMilliseconds: object["time"]?.int64Value ?? 0,
                receivedAtMilliseconds: object["received_at"]?.int64Value ?? 0, advanced: object["advanced"]?.boolValue ?? false)
        }
    }

    /// The message's status on each channel, for `{"channels": {...}}`.
    public var channelStatuses: [(channel: String, status: String)] { channels.map { ($0.name, $0.status) } }
}

/// A message whose overdue deadline has passed: what the scan needs to emit its `delivery.overdue`.
public struct OverdueMessage: Sendable, Equatable {
    public var sourceID: String
    public var messageID: String
    /// The message's status now (`queued`, `sent`, or nil when nothing ranked arrived).
    public var status: String?
    /// The channel of its status, else the first channel it was seen on.
    public var channel: String?
    public var eventSource: String?
    public var deadlineMilliseconds: Int64
    public var expectWithinMilliseconds: Int64?

    public init(sourceID: String, messageID: String, status: String?, channel: String?, eventSource: String?,
                deadlineMilliseconds: Int64, expectWithinMilliseconds: Int64?) {
        self.sourceID = sourceID
        self.messageID = messageID
        self.status = status
        self.channel = channel
        self.eventSource = eventSource
        self.deadlineMilliseconds = deadlineMilliseconds
        self.expectWithinMilliseconds = expectWithinMilliseconds
    }

    init(_ record: MessageRecord) {
        self.init(sourceID: record.sourceID, messageID: record.messageID, status: record.status,
                  channel: record.statusChannel ?? record.channels.first?.name ?? record.history.first?.channel,
                  eventSource: record.eventSource, deadlineMilliseconds: record.overdueAtMilliseconds ?? 0,
                  expectWithinMilliseconds: record.expectWithinMilliseconds)
    }
}
