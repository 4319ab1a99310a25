/// What relay needs from a messaging provider: check a request's credential over the exact bytes, then
/// split and normalize its body. A new provider is one folder under `Providers/` and a line in ``ProviderRegistry``.
public protocol WebhookProvider: Sendable {
    var kind: ProviderKind { get }
    /// The request header that carries the credential this provider checks (lower-case).
    var credentialHeader: String { get }
    /// Whether `credential` authenticates `body` for `source`, compared in constant time.
    func verify(credential: String?, body: [UInt8], source: SourceConfig) -> Bool
    /// The body's events, normalized; throws for a body that is not JSON or not this provider's shape.
    /// An empty array is valid (LINE's verification call).
    func events(from body: [UInt8], sourceID: String, receivedAtMilliseconds: Int64) throws(PayloadError) -> [IncomingEvent]
}

/// The providers relay knows, by kind.
public enum ProviderRegistry {
    public static func provider(for kind: ProviderKind) -> any WebhookProvider {
        switch kind {
        case .line: return LINEProvider()
        case .eightByEight: return EightByEightProvider()
        }
    }
}

extension WebhookProvider {
    /// Parses the body as JSON, turning a parse failure into a ``PayloadError``.
    func parseJSON(_ body: [UInt8]) throws(PayloadError) -> JSONValue {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw PayloadError("body is not JSON: \(error)")
        }
    }
}
