import RelayCore
import RelayStore

/// `GET /admin/messages/<source-id>/<message-id>` and `relay messages show --json`: one message's ledger (SPEC
/// section 10), times in RFC 3339 UTC.
public struct MessageBody: Encodable, Sendable, Equatable {
    public struct Entry: Encodable, Sendable, Equatable {
        public var eventID: String
        public var status: String
        public var detail: String?
        public var channel: String
        public var time: String
        public var receivedAt: String
        public var advanced: Bool

        enum CodingKeys: String, CodingKey {
            case eventID = "event_id", status, detail, channel, time, receivedAt = "received_at", advanced
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(eventID, forKey: .eventID)
            try container.encode(status, forKey: .status)
            try container.encode(detail, forKey: .detail)
            try container.encode(channel, forKey: .channel)
            try container.encode(time, forKey: .time)
            try container.encode(receivedAt, forKey: .receivedAt)
            try container.encode(advanced, forKey: .advanced)
        }
    }

    public var sourceID: String
    public var messageID: String
    public var status: String?
    public var channels: [String: String]
    public var overdue: Bool
    /// When it becomes overdue while it is still waited for; null otherwise.
    public var overdueAt: String?
    public var history: [Entry]
    /// Status events past the timeline's limit, not listed.
    public var historyDropped: Int

    enum CodingKeys: String, CodingKey {
        case sourceID = "source_id", messageID = "message_id", status, channels, overdue, overdueAt = "overdue_at", history
        case historyDropped = "history_dropped"
    }

    public init(_ record: MessageRecord) {
        sourceID = record.sourceID
        messageID = record.messageID
        status = record.status
        channels = Dictionary(record.channelStatuses.map { ($0.channel, $0.status) }, uniquingKeysWith: { $1 })
        overdue = record.overdue
        overdueAt = record.overdueAtMilliseconds.map { Timestamp.format(epochMilliseconds: $0) }
        history = record.history.map { entry in
            Entry(eventID: entry.eventID, status: entry.status, detail: entry.detail, channel: entry.channel,
                  time: Timestamp.format(epochMilliseconds: entry.timeMilliseconds),
                  receivedAt: Timestamp.format(epochMilliseconds: entry.receivedAtMilliseconds), advanced: entry.advanced)
        }
        historyDropped = record.historyDropped
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sourceID, forKey: .sourceID)
        try container.encode(messageID, forKey: .messageID)
        try container.encode(status, forKey: .status)
        try container.encode(channels, forKey: .channels)
        try container.encode(overdue, forKey: .overdue)
        try container.encode(overdueAt, forKey: .overdueAt)
        try container.encode(history, forKey: .history)
        try container.encode(historyDropped, forKey: .historyDropped)
    }
}
