/// What relay needs from a messaging provider: check a request's credential over the exact bytes, split and
/// normalize its body, give back its own format to passthrough destinations, and the samples and checks the CLI
/// offers. A new provider is one folder under `Providers/` and a line in ``ProviderRegistry``.
public protocol WebhookProvider: Sendable {
    var kind: ProviderKind { get }
    /// The provider's name in messages, e.g. in "applies only to ... sources".
    var displayName: String { get }
    /// The request header that carries the credential this provider checks (lower-case).
    var credentialHeader: String { get }
    /// The body's events, normalized; throws for a body that is not JSON or not this provider's shape.
    /// An empty array is valid (LINE's verification call).
    func events(from body: [UInt8], sourceID: String, receivedAtMilliseconds: Int64) throws(PayloadError) -> [IncomingEvent]

    /// The body a passthrough destination gets for one event: `event` is the provider's event object as stored in
    /// the canonical event's `data.raw`, `account` its `data.account`. The one place the provider's envelope is built.
    func passthroughBody(event: [UInt8], account: String?) -> [UInt8]
    /// Headers a passthrough `body` needs to be accepted by `destination` (e.g. a re-signature with the destination's
    /// own secret); throws when the destination lacks the settings for it.
    func passthroughHeaders(body: [UInt8], destination: DestinationConfig) throws(PassthroughSigningError) -> [(name: String, value: String)]
    /// Lower-case names of the headers `passthroughHeaders` sets, which a destination's `headers` may not override.
    var passthroughHeaderNames: [String] { get }

    /// The rank of a status in the provider's delivery order (higher is further); nil for a status that never
    /// advances a message (unknown, or a provider without receipts).
    func statusRank(status: String, detail: String?) -> Int?
    /// Why a message with no receipt within `within` was not delivered, when the provider documents it (the
    /// `delivery.overdue` event's `data.reason`); nil otherwise.
    func overdueReason(within: Duration) -> String?
    /// Whether a backend may register the deliveries it expects from this provider (`POST /admin/expectations`):
    /// for a provider whose API answers a send before it knows the outcome, and whose receipts echo a key.
    var acceptsExpectations: Bool { get }
    /// Whether the provider's status events keep a ledger on every source (a provider that sends several statuses per
    /// message), or only on sources with `expect_receipt` set (one whose receipts matter only when expected: the
    /// ledger costs a keyed write per event, which such sources need not pay).
    var ledgerOnEverySource: Bool { get }

    /// The sample webhooks `relay simulate` can send, by name.
    var sampleNames: [String] { get }
    /// A sample body with fresh ids and the current time; nil for a name not in `sampleNames`.
    func sampleBody(_ name: String) -> [UInt8]?
    /// How `relay sink` checks this provider's passthrough signature; nil when its passthrough bodies are unsigned.
    var sinkCheck: SinkCheck? { get }
}

extension WebhookProvider {
    /// Whether `credential` authenticates `body` for `source`, compared in constant time by the source's settings.
    public func verify(credential: String?, body: [UInt8], source: SourceConfig) -> Bool {
        source.settings.verify(credential: credential, body: body)
    }

    public var passthroughHeaderNames: [String] { [] }
    public func statusRank(status: String, detail: String?) -> Int? { nil }
    public func overdueReason(within: Duration) -> String? { nil }
    public var acceptsExpectations: Bool { false }
    public var ledgerOnEverySource: Bool { true }
    public var sinkCheck: SinkCheck? { nil }

    /// Parses the body as JSON, turning a parse failure into a ``PayloadError``.
    func parseJSON(_ body: [UInt8]) throws(PayloadError) -> JSONValue {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw PayloadError("body is not JSON: \(error)")
        }
    }

    /// The passthrough body rebuilt from a stored canonical event (for a job whose passthrough body was not stored:
    /// its destination became `passthrough` by a reload after the event arrived); nil if it cannot be read back.
    public func passthroughBody(canonical: [UInt8]) -> [UInt8]? {
        guard let event = try? JSONParser.parse(canonical), let raw = event["data"]?["raw"] else { return nil }
        return passthroughBody(event: JSONWriter.serialize(raw), account: event["data"]?["account"]?.stringValue)
    }
}
