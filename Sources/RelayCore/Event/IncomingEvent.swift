/// One provider event, verified and normalized, ready to be deduplicated and stored.
public struct IncomingEvent: Sendable {
    /// What the passthrough body is made from; it is only built when a passthrough destination is routed.
    enum PassthroughSource: Sendable {
        case body([UInt8])
        /// One event of a request that carries several: the provider wraps it in its envelope when asked.
        case providerEvent([UInt8], account: String?, provider: any WebhookProvider)
    }

    /// The dedup key; also the canonical event's `id`.
    public var id: String
    /// Canonical type, e.g. `delivery.delivered`.
    public var type: String
    /// The provider's own time for the event, milliseconds since the epoch.
    public var eventTime: Int64
    /// Whether the provider says it sends this event again (e.g. a redelivery flag).
    public var redelivery: Bool
    /// The CloudEvents JSON body (format `canonical`).
    public var canonical: [UInt8]
    var passthroughSource: PassthroughSource
    /// The canonical event's fields as the normalizer made them, for route filters (read without parsing `canonical`);
    /// nil for an event made from stored bytes.
    public var fields: CanonicalEvent?
    /// The canonical event's `subject`: what ordered destinations order by (SPEC section 14); nil when it has none.
    public var subject: String?
    /// The event's place in its message's ledger; nil for an event outside it (SPEC section 10).
    public var status: StatusReport?

    /// The provider-format body for `passthrough` destinations (one event, unsigned).
    public var passthrough: [UInt8] {
        switch passthroughSource {
        case .body(let bytes): return bytes
        case .providerEvent(let event, let account, let provider): return provider.passthroughBody(event: event, account: account)
        }
    }

    public init(id: String, type: String, eventTime: Int64, redelivery: Bool, canonical: [UInt8], passthrough: [UInt8]) {
        self.init(id: id, type: type, eventTime: eventTime, redelivery: redelivery, canonical: canonical, passthroughSource: .body(passthrough))
    }

    init(id: String, type: String, eventTime: Int64, redelivery: Bool, canonical: [UInt8], passthroughSource: PassthroughSource) {
        self.id = id
        self.type = type
        self.eventTime = eventTime
        self.redelivery = redelivery
        self.canonical = canonical
        self.passthroughSource = passthroughSource
    }
}
