/// A status event's place in its message's ledger (SPEC section 10): which message it is about, on which channel, what
/// status it reports and how the provider ranks it. The store reads the message's ledger in the transaction that
/// stores the event, and writes the resulting `data.progress` into the canonical body at `progressOffset`.
public struct StatusReport: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A provider's receipt (a status event, a delivery completion).
        case receipt
        /// relay's own `delivery.overdue`: it marks the message overdue and never advances it.
        case overdue
    }

    /// The provider's message id (or the key a delivery completion echoes).
    public var messageID: String
    /// The channel it was sent on, lower-cased ("whatsapp", "sms"); "" when the provider names none.
    public var channel: String
    /// The canonical status (`queued`, `delivered`, ...).
    public var status: String
    public var detail: String?
    /// The provider's rank of the status in its delivery order; nil for a status that never advances a message.
    public var rank: Int?
    /// The canonical event's CloudEvents `source`, kept so relay's own events about the message carry the same one.
    public var eventSource: String
    public var kind: Kind
    /// Where `"progress":{...},` goes in the canonical body: a member of `data`, just before `received_at`.
    public var progressOffset: Int

    public init(messageID: String, channel: String, status: String, detail: String?, rank: Int?, eventSource: String,
                kind: Kind = .receipt, progressOffset: Int) {
        self.messageID = messageID
        self.channel = channel
        self.status = status
        self.detail = detail
        self.rank = rank
        self.eventSource = eventSource
        self.kind = kind
        self.progressOffset = progressOffset
    }
}

/// `data.progress`: whether the event moved its message further, and the message's status before it.
public struct MessageProgress: Sendable, Equatable {
    public var advanced: Bool
    public var previous: String?

    public init(advanced: Bool, previous: String?) {
        self.advanced = advanced
        self.previous = previous
    }

    public var json: JSONValue {
        var object = JSONObject()
        object.append("advanced", .bool(advanced))
        object.append("previous", previous.map(JSONValue.string) ?? .null)
        return .object(object)
    }
}

extension IncomingEvent {
    /// The canonical body with `data.progress` written in; the body as normalized for an event outside the ledger.
    public func canonical(with progress: MessageProgress) -> [UInt8] {
        guard let offset = status?.progressOffset, offset > 0, offset <= canonical.count else { return canonical }
        var member = JSONObject()
        member.append("progress", progress.json)
        // `{"progress":{...}}` without its braces, then the comma before `received_at`.
        let object = JSONWriter.serialize(.object(member))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(canonical.count + object.count)
        bytes.append(contentsOf: canonical[..<offset])
        bytes.append(contentsOf: object[1..<(object.count - 1)])
        bytes.append(UInt8(ascii: ","))
        bytes.append(contentsOf: canonical[offset...])
        return bytes
    }
}
