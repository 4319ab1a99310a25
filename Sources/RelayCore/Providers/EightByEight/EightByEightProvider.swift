extension ProviderKind {
    /// 8x8 (a static `Authorization` header registered with 8x8).
    public static let eightByEight = ProviderKind(rawValue: "8x8")
}

/// 8x8 (Messaging Apps and SMS) webhooks: a static `Authorization` header, one event per request.
public struct EightByEightProvider: WebhookProvider {
    public init() {}

    public var kind: ProviderKind { .eightByEight }
    public var displayName: String { "8x8" }
    public var credentialHeader: String { "authorization" }

    public func events(from body: [UInt8], sourceID: String, receivedAtMilliseconds: Int64) throws(PayloadError) -> [IncomingEvent] {
        let json = try parseJSON(body)
        return [try EightByEightEventNormalizer.normalize(json, body: body, sourceID: sourceID, receivedAtMilliseconds: receivedAtMilliseconds)]
    }

    /// The original body: one 8x8 webhook is one event, and `raw` is all of it.
    public func passthroughBody(event: [UInt8], account: String?) -> [UInt8] { event }

    /// 8x8 bodies carry no signature of their own; the destination's `headers` may add its credentials.
    public func passthroughHeaders(
        body: [UInt8], destination: DestinationConfig
    ) throws(PassthroughSigningError) -> [(name: String, value: String)] { [] }

    public func statusRank(status: String, detail: String?) -> Int? {
        EightByEightStatusRank.rank(status: status, detail: detail)
    }

    public var sampleNames: [String] { EightByEightSamples.names }
    public func sampleBody(_ name: String) -> [UInt8]? { EightByEightSamples.body(name).map { Array($0.utf8) } }
}
