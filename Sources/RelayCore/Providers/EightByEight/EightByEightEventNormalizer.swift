import Foundation

/// Turns one 8x8 webhook body (ChatApps or SMS namespace) into a canonical event.
enum EightByEightEventNormalizer {
    static func normalize(
        _ body: JSONValue, body bytes: [UInt8], sourceID: String, receivedAtMilliseconds: Int64
    ) throws(PayloadError) -> IncomingEvent {
        guard let root = body.objectValue else { throw PayloadError("8x8 body must be a JSON object") }
        guard let eventType = root["eventType"]?.stringValue, !eventType.isEmpty else {
            throw PayloadError("8x8 body has no \"eventType\" string")
        }
        let payload: JSONObject
        switch root["payload"] {
        case .object(let object)?: payload = object
        case nil where root["eventId"] != nil: payload = JSONObject()
        default: throw PayloadError("8x8 body has no \"payload\" object")
        }
        _ = try ProviderValue.checked(eventType, field: "eventType")
        let namespace = root["namespace"]?.stringValue ?? ""
        let isSMS = namespace.lowercased() == "sms"
        // The values that become keys, the subject, ledger columns or headers: bounded and printable (SPEC section 13).
        let umid = try ProviderValue.checked(optional: payload["umid"]?.scalarText, field: "payload.umid")
        let eventID = try ProviderValue.checked(optional: root["eventId"]?.scalarText, field: "eventId").flatMap { $0.isEmpty ? nil : $0 }
        let status = payload["status"]?.objectValue
        // Inbound ChatApps messages name the channel under `recipient` (the business side), not at the top.
        let channelName = try ProviderValue.checked(optional:
            payload["channel"]?.stringValue ?? payload["recipient"]?["channel"]?.stringValue, field: "payload.channel")
        let channel = channelName?.lowercased() ?? (isSMS ? "sms" : nil)
        _ = try ProviderValue.checked(optional: status?["state"]?.stringValue, field: "payload.status.state")
        _ = try ProviderValue.checked(optional: status?["detail"]?.stringValue, field: "payload.status.detail")

        let type: String
        var id: String
        var state: String?
        switch eventType {
        case "outbound_message_status_changed":
            guard let status, let rawState = status["state"]?.stringValue, !rawState.isEmpty else {
                throw PayloadError("payload.status.state is missing")
            }
            state = rawState.lowercased()
            type = "delivery." + rawState.lowercased()
            // One message moves through several states and may fall back across channels: each is its own event.
            id = try [required(umid, "payload.umid"), channel ?? "", rawState.lowercased(), status["detail"]?.stringValue?.lowercased() ?? ""]
                .map(keyPart).joined(separator: ":")
        case "inbound_message_received":
            type = "message.received"
            id = try required(umid, "payload.umid")
        case "external_app_message":
            type = "message.echo"
            id = try required(umid, "payload.umid")
        default:
            type = "8x8." + eventType
            // Business-management events carry an eventId and may have no umid at all.
            id = try required(eventID ?? umid, "payload.umid or eventId")
        }
        if let eventID { id = eventID }

        let timeText = status?["timestamp"]?.stringValue ?? payload["timestamp"]?.stringValue
        let time = timeText.flatMap(Timestamp.parse) ?? receivedAtMilliseconds
        let account = try ProviderValue.checked(optional: payload["subAccountId"]?.stringValue, field: "payload.subAccountId")

        var data = JSONObject()
        data.append("provider", .string("8x8"))
        data.append("source_id", .string(sourceID))
        data.append("status", state.map(JSONValue.string))
        data.append("redelivery", .bool(false))
        data.append("account", account.map(JSONValue.string))
        data.append("channel", channel.map(JSONValue.string))
        data.append(eventType == "inbound_message_received" ? "sender" : "recipient", party(payload, isSMS: isSMS, inbound: eventType == "inbound_message_received"))
        data.append("message", messageIDs(payload))
        data.append("error", errorObject(payload))
        data.append("detail", status?["detail"]?.stringValue.map(JSONValue.string))
        data.append("pricing_category", payload["whatsapp"]?["pricingCategory"]?.stringValue.map(JSONValue.string))

        let canonical = CanonicalEvent(
            id: id, source: "/8x8/" + (account ?? sourceID), type: type, timeMilliseconds: time, subject: umid,
            data: data, receivedAtMilliseconds: receivedAtMilliseconds, raw: body)
        let (serialized, progressOffset) = canonical.serializedMarkingProgress(rawBytes: JSONWriter.serialize(body))
        var event = IncomingEvent(id: id, type: type, eventTime: time, redelivery: false, canonical: serialized, passthrough: bytes)
        event.subject = umid
        event.fields = canonical
        // A status event joins its message's ledger, keyed by umid (every outbound status event has one).
        if let state, let umid {
            let detail = status?["detail"]?.stringValue?.lowercased()
            event.status = StatusReport(
                messageID: umid, channel: channel ?? "", status: state, detail: detail,
                rank: EightByEightStatusRank.rank(status: state, detail: detail), eventSource: canonical.source,
                progressOffset: progressOffset)
        }
        return event
    }

    /// One part of a composite dedup key, with `%` and `:` escaped so that no two field combinations make one key
    /// (`a:b` + `c` is not `a` + `b:c`). Parts without either character, every real umid, channel and state among
    /// them, are unchanged, so keys stored before escaping keep meaning the same.
    static func keyPart(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "%") }) else { return text }
        return text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: ":", with: "%3A")
    }

    private static func required(_ value: String?, _ name: String) throws(PayloadError) -> String {
        guard let value, !value.isEmpty else { throw PayloadError("\(name) is missing") }
        return value
    }

    /// The other party: ChatApps `user`, or for SMS the `destination` (outbound) or `source` (inbound) number.
    private static func party(_ payload: JSONObject, isSMS: Bool, inbound: Bool) -> JSONValue? {
        var party = JSONObject()
        if let user = payload["user"]?.objectValue {
            party.append("msisdn", user["msisdn"]?.stringValue.map(JSONValue.string))
            party.append("channel_user_id", user["channelUserId"]?.scalarText.map(JSONValue.string))
        } else if isSMS {
            party.append("msisdn", payload[inbound ? "source" : "destination"]?.stringValue.map(JSONValue.string))
        }
        return party.isEmpty ? nil : .object(party)
    }

    private static func messageIDs(_ payload: JSONObject) -> JSONValue? {
        var message = JSONObject()
        for (key, name) in [("id", "umid"), ("client_message_id", "clientMessageId"), ("batch_id", "batchId"), ("client_batch_id", "clientBatchId")] {
            message.append(key, payload[name]?.scalarText.map(JSONValue.string))
        }
        return message.isEmpty ? nil : .object(message)
    }

    private static func errorObject(_ payload: JSONObject) -> JSONValue? {
        var error = JSONObject()
        error.append("code", payload["status"]?["errorCode"])
        error.append("message", payload["status"]?["errorMessage"])
        error.append("provider_code", payload["whatsapp"]?["providerErrorCode"])
        return error.isEmpty ? nil : .object(error)
    }
}
