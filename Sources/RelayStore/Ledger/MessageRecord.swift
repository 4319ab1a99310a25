import RelayCore

/// One message's ledger (SPEC section 10): the furthest status it reached, per channel and overall, whether it is
/// overdue, and its timeline. Both stores keep it as one row, read and written in the transaction that stores the
/// status event, and apply events to it with ``apply(_:eventID:timeMilliseconds:receivedAtMilliseconds:)``.
public struct MessageRecord: Sendable, Equatable {
    public struct Channel: Sendable, Equatable {
        public var name: String
        public var status: String
        public var rank: Int
    }

    /// One status event as it arrived, advanced or not.
    public struct Entry: Sendable, Equatable {
        public var eventID: String
        public var status: String
        public var detail: String?
        public var channel: String
        public var timeMilliseconds: Int64
        public var receivedAtMilliseconds: Int64
        public var advanced: Bool
    }

    public var sourceID: String
    public var messageID: String
    /// The message's status: that of the last event that advanced it; nil before any did.
    public var status: String?
    /// The rank of `status` (0 before any).
    public var rank: Int
    /// The channel whose event set `status`.
    public var statusChannel: String?
    /// Each channel's furthest status, in the order the channels were first seen.
    public var channels: [Channel]
    /// Status events in the order they arrived (at most ``historyLimit``; `historyDropped` counts the rest).
    public var history: [Entry]
    public var historyDropped: Int
    /// The CloudEvents `source` of the message's events.
    public var eventSource: String?
    /// When its first event arrived; nil for a message only expected so far.
    public var firstAtMilliseconds: Int64?
    /// When, still `queued` or `sent` (or nothing), it becomes overdue; nil when it is not waited for (any more).
    public var overdueAtMilliseconds: Int64?
    /// The wait `overdueAtMilliseconds` was set with, for the overdue event's `expected_within_seconds`.
    public var expectWithinMilliseconds: Int64?
    /// Whether a `delivery.overdue` was emitted for it.
    public var overdue: Bool
    /// When the ledger forgets it (`message_window` after its last event).
    public var expiresAtMilliseconds: Int64

    /// The most timeline entries kept per message: a provider sends a handful; a flood of distinct statuses for one
    /// message stops growing its row here (the events themselves are still stored and forwarded).
    public static let historyLimit = 100

    /// A message with no event yet.
    public init(sourceID: String, messageID: String, expiresAtMilliseconds: Int64) {
        self.sourceID = sourceID
        self.messageID = messageID
        status = nil
        rank = 0
        statusChannel = nil
        channels = []
        history = []
        historyDropped = 0
        eventSource = nil
        firstAtMilliseconds = nil
        overdueAtMilliseconds = nil
        expectWithinMilliseconds = nil
        overdue = false
        self.expiresAtMilliseconds = expiresAtMilliseconds
    }

    /// The rank at or below which a message is still waited for: `queued` (1) and `sent` (2).
    public static let waitingRank = 2

    /// Records one new status event and says whether it advanced the message.
    ///
    /// Within a channel a higher rank advances, an equal or lower one does not. Across channels the message's status
    /// is the highest reached on any; an event that is new for its channel and reaches at least that height advances
    /// it, so a fallback channel's `delivered` after the first channel's `undelivered` advances the message, while the
    /// fallback's own `queued` and `sent` do not (a backend never sees the status drop). `unknown` and states the
    /// provider does not rank never advance. `expectWithin` (the source's `expect_receipt`) starts the overdue clock
    /// at the message's first event.
    public mutating func apply(
        _ report: StatusReport, eventID: String, timeMilliseconds: Int64, receivedAtMilliseconds now: Int64,
        expectWithinMilliseconds expectWithin: Int64?, expiresAtMilliseconds: Int64
    ) -> MessageProgress {
        let previous = status
        var advanced = false
        switch report.kind {
        case .overdue:
            overdue = true
            overdueAtMilliseconds = nil
        case .receipt:
            if eventSource == nil { eventSource = report.eventSource }
            if let rank = report.rank {
                let index = channels.firstIndex { $0.name == report.channel }
                if rank > (index.map { channels[$0].rank } ?? 0) {
                    let channel = Channel(name: report.channel, status: report.status, rank: rank)
                    if let index { channels[index] = channel } else { channels.append(channel) }
                    if rank >= self.rank {
                        advanced = true
                        self.rank = rank
                        status = report.status
                        statusChannel = report.channel
                    }
                }
            }
            if firstAtMilliseconds == nil {
                firstAtMilliseconds = now
                if let expectWithin, overdueAtMilliseconds == nil, !overdue, self.rank <= Self.waitingRank {
                    overdueAtMilliseconds = now + expectWithin
                    expectWithinMilliseconds = expectWithin
                }
            }
            if self.rank > Self.waitingRank { overdueAtMilliseconds = nil }
        }
        let entry = Entry(eventID: eventID, status: report.kind == .overdue ? "overdue" : report.status, detail: report.detail,
                          channel: report.channel, timeMilliseconds: timeMilliseconds, receivedAtMilliseconds: now, advanced: advanced)
        if history.count < Self.historyLimit { history.append(entry) } else { historyDropped += 1 }
        self.expiresAtMilliseconds = max(self.expiresAtMilliseconds, expiresAtMilliseconds)
        return MessageProgress(advanced: advanced, previous: previous)
    }
}
