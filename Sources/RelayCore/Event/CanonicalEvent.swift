/// The parts of a canonical (CloudEvents 1.0) event that a provider fills in; `build()` renders it.
public struct CanonicalEvent: Sendable {
    public var id: String
    /// `/<provider>/<account>`, e.g. the provider's channel or sub-account.
    public var source: String
    public var type: String
    public var timeMilliseconds: Int64
    public var subject: String?
    /// `data` members before `received_at` and `raw`, in the order they are written.
    public var data: JSONObject
    public var receivedAtMilliseconds: Int64
    /// The provider's event object, verbatim.
    public var raw: JSONValue

    public init(
        id: String, source: String, type: String, timeMilliseconds: Int64, subject: String?,
        data: JSONObject, receivedAtMilliseconds: Int64, raw: JSONValue
    ) {
        self.id = id
        self.source = source
        self.type = type
        self.timeMilliseconds = timeMilliseconds
        self.subject = subject
        self.data = data
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.raw = raw
    }

    /// The content type of a canonical event body.
    public static let contentType = "application/cloudevents+json"
    /// The content type of a batch of canonical events (a JSON array of them, CloudEvents' batched mode).
    public static let batchContentType = "application/cloudevents-batch+json"

    /// The event as a JSON value, members in CloudEvents order.
    public var json: JSONValue {
        var data = self.data
        data.append("received_at", .string(Timestamp.format(epochMilliseconds: receivedAtMilliseconds)))
        data.append("raw", raw)
        var event = JSONObject()
        event.append("specversion", .string("1.0"))
        event.append("id", .string(id))
        event.append("source", .string(source))
        event.append("type", .string(type))
        event.append("time", .string(Timestamp.format(epochMilliseconds: timeMilliseconds)))
        event.append("subject", subject.map(JSONValue.string))
        event.append("datacontenttype", .string("application/json"))
        event.append("data", .object(data))
        return .object(event)
    }

    /// The serialized body.
    public func serialized() -> [UInt8] { JSONWriter.serialize(json) }

    /// The serialized body, with `rawBytes` (the already serialized `raw`) spliced in rather than written again.
    public func serialized(rawBytes: [UInt8]) -> [UInt8] {
        serializedMarkingProgress(rawBytes: rawBytes).bytes
    }

    /// The serialized body, and the offset of its `"received_at"` member: where a status event's `data.progress` is
    /// written in once the store knows it (``IncomingEvent/canonical(with:)``).
    public func serializedMarkingProgress(rawBytes: [UInt8]) -> (bytes: [UInt8], progressOffset: Int) {
        var placeholder = self
        placeholder.raw = .null
        var bytes = JSONWriter.serialize(placeholder.json)
        // `raw` is the last member of `data`, itself the last member of the event: the body ends
        // `"received_at":"<time>","raw":null}}`, and the time is plain ASCII, written without escapes.
        bytes.removeLast(6)
        let receivedAt = Timestamp.format(epochMilliseconds: receivedAtMilliseconds)
        let progressOffset = bytes.count - (#""received_at":""#.utf8.count + receivedAt.utf8.count + #"","raw":"#.utf8.count)
        bytes.reserveCapacity(bytes.count + rawBytes.count + 2)
        bytes.append(contentsOf: rawBytes)
        bytes.append(contentsOf: [UInt8(ascii: "}"), UInt8(ascii: "}")])
        return (bytes, progressOffset)
    }
}
