/// relay's own `delivery.overdue` event (SPEC section 10): a message left at `queued` or `sent` (or, expected, with
/// no delivery at all) past its deadline. Stored, routed and delivered like a provider's event; its id,
/// `<message-id>:overdue`, is its dedup key, so it is stored once however many scans find the message.
public enum OverdueEvent {
    public static let type = "delivery.overdue"

    public static func make(
        sourceID: String, provider: ProviderKind, messageID: String, status: String?, channel: String?, eventSource: String?,
        deadlineMilliseconds: Int64, expectWithinMilliseconds: Int64?, reason: String? = nil, receivedAtMilliseconds now: Int64
    ) -> IncomingEvent {
        let id = messageID + ":overdue"
        var data = JSONObject()
        data.append("provider", .string(provider.rawValue))
        data.append("source_id", .string(sourceID))
        data.append("status", .string("overdue"))
        data.append("channel", channel.map(JSONValue.string))
        var message = JSONObject()
        message.append("id", .string(messageID))
        data.append("message", .object(message))
        data.append("expected_within_seconds", expectWithinMilliseconds.map { .integer($0 / 1000) })
        data.append("reason", reason.map(JSONValue.string))
        let source = eventSource ?? "/\(provider.rawValue)/\(sourceID)"
        let canonical = CanonicalEvent(
            id: id, source: source, type: type, timeMilliseconds: deadlineMilliseconds, subject: messageID, data: data,
            receivedAtMilliseconds: now, raw: .null)
        let (bytes, progressOffset) = canonical.serializedMarkingProgress(rawBytes: Array("null".utf8))
        var event = IncomingEvent(id: id, type: type, eventTime: deadlineMilliseconds, redelivery: false, canonical: bytes, passthrough: [])
        event.subject = messageID
        event.fields = canonical
        event.status = StatusReport(
            messageID: messageID, channel: channel ?? "", status: "overdue", detail: nil, rank: nil, eventSource: source,
            kind: .overdue, progressOffset: progressOffset)
        return event
    }
}
