/// One provider event, verified and normalized, ready to be deduplicated and stored.
public struct IncomingEvent: Sendable {
    /// The dedup key; also the canonical event's `id`.
    public var id: String
    /// Canonical type, e.g. `delivery.delivered`.
    public var type: String
    /// The provider's own time for the event, milliseconds since the epoch.
    public var eventTime: Int64
    /// LINE's `deliveryContext.isRedelivery`.
    public var redelivery: Bool
    /// The CloudEvents JSON body (format `canonical`).
    public var canonical: [UInt8]
    /// The provider-format body for `passthrough` destinations (LINE: unsigned, one event; 8x8: the original bytes).
    public var passthrough: [UInt8]

    public init(id: String, type: String, eventTime: Int64, redelivery: Bool, canonical: [UInt8], passthrough: [UInt8]) {
        self.id = id
        self.type = type
        self.eventTime = eventTime
        self.redelivery = redelivery
        self.canonical = canonical
        self.passthrough = passthrough
    }
}
