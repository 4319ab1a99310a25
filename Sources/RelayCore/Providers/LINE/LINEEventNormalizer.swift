/// Turns one LINE webhook event object into a canonical event.
enum LINEEventNormalizer {
    static func normalize(
        _ event: JSONValue, destination: String?, sourceID: String, receivedAtMilliseconds: Int64
    ) throws(PayloadError) -> IncomingEvent {
        guard let object = event.objectValue else { throw PayloadError("event must be a JSON object") }
        guard let lineType = object["type"]?.stringValue, !lineType.isEmpty else {
            throw PayloadError("event has no \"type\" string")
        }
        _ = try ProviderValue.checked(lineType, field: "\"type\"")
        let eventBytes = JSONWriter.serialize(event)
        let id: String
        switch object["webhookEventId"] {
        case .string(let value) where !value.isEmpty: id = try ProviderValue.checked(value, field: "\"webhookEventId\"")
        case nil, .null?: id = "sha256:" + ContentDigest.hex(eventBytes)  // older formats have no id
        default: throw PayloadError("\"webhookEventId\" must be a non-empty string")
        }
        var time = receivedAtMilliseconds
        if let stamp = object["timestamp"] {
            guard let ms = stamp.int64Value else { throw PayloadError("\"timestamp\" must be an integer of milliseconds") }
            guard Timestamp.representable.contains(ms) else {
                throw PayloadError("\"timestamp\" is outside the years 0001-9999")
            }
            time = ms
        }
        let redelivery = object["deliveryContext"]?["isRedelivery"]?.boolValue ?? false
        // The ids that become the subject, the ledger key or a header: bounded and printable (SPEC section 13).
        let deliveryData = try ProviderValue.checked(optional: object["delivery"]?["data"]?.stringValue, field: "\"delivery.data\"")
        let user = try ProviderValue.checked(optional: object["source"]?["userId"]?.stringValue, field: "\"source.userId\"")
        let group = try ProviderValue.checked(optional: object["source"]?["groupId"]?.stringValue, field: "\"source.groupId\"")
        let room = try ProviderValue.checked(optional: object["source"]?["roomId"]?.stringValue, field: "\"source.roomId\"")

        var data = JSONObject()
        data.append("provider", .string("line"))
        data.append("source_id", .string(sourceID))
        let type: String
        var subject: String?
        switch lineType {
        case "delivery":
            type = "delivery.delivered"
            data.append("status", .string("delivered"))
        case "message":
            type = "message.received"
        default:
            type = "line." + lineType
        }
        data.append("redelivery", .bool(redelivery))
        data.append("account", destination.map(JSONValue.string))
        data.append("channel", .string("line"))
        if lineType == "delivery", let tag = deliveryData {
            var recipient = JSONObject()
            recipient.append(isPhoneHash(tag) ? "phone_hash" : "delivery_tag", .string(tag))
            data.append("recipient", .object(recipient))
            subject = tag
        }
        if let user {
            var who = JSONObject()
            who.append("channel_user_id", .string(user))
            data.append(lineType == "message" ? "sender" : "user", .object(who))
        }
        // A chat event's subject is its conversation: the group or room it happened in, else the user's one-to-one chat
        // (so ordered destinations keep a group's messages in order, whoever wrote them).
        subject = subject ?? group ?? room ?? user
        if lineType == "message", let messageID = object["message"]?["id"]?.scalarText {
            var message = JSONObject()
            message.append("id", .string(messageID))
            data.append("message", .object(message))
        }
        let canonical = CanonicalEvent(
            id: id, source: "/line/" + (destination ?? sourceID), type: type, timeMilliseconds: time,
            subject: subject, data: data, receivedAtMilliseconds: receivedAtMilliseconds, raw: event)
        let (serialized, progressOffset) = canonical.serializedMarkingProgress(rawBytes: eventBytes)
        var incoming = IncomingEvent(
            id: id, type: type, eventTime: time, redelivery: redelivery,
            canonical: serialized, passthroughSource: .providerEvent(eventBytes, account: destination, provider: LINEProvider()))
        incoming.subject = subject
        incoming.fields = canonical
        // A delivery completion joins the ledger under the key it echoes (the delivery tag or phone hash the backend
        // registers as an expectation: SPEC section 10a).
        if lineType == "delivery", let key = deliveryData, !key.isEmpty {
            incoming.status = StatusReport(
                messageID: key, channel: "line", status: "delivered", detail: nil, rank: LINEProvider.deliveredRank,
                eventSource: canonical.source, progressOffset: progressOffset)
        }
        return incoming
    }

    /// LINE delivery data is a SHA-256 phone hash (64 hex digits) or a free-form delivery tag.
    static func isPhoneHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }
    }
}
