/// One webhook source, served at `POST /webhooks/<id>`.
public struct SourceConfig: Sendable, CustomStringConvertible {
    /// The id from the config (`[A-Za-z0-9_-]+`), also the URL path segment.
    public var id: String
    /// Which provider sends to this source.
    public var provider: ProviderKind
    /// LINE channel secrets accepted for signature checks (several during rotation); empty for 8x8.
    public var channelSecrets: [String] { didSet { lineKeys = channelSecrets.map { KeyedHMAC(key: Array($0.utf8)) } } }
    /// `channelSecrets`, keyed for HMAC once rather than per request.
    public private(set) var lineKeys: [KeyedHMAC] = []
    /// How 8x8 requests are authenticated; nil for LINE.
    public var auth: EightByEightAuth?
    /// Source-address allow list; empty means any address.
    public var allowFrom: [IPRange]

    /// Creates a source.
    public init(id: String, provider: ProviderKind, channelSecrets: [String] = [],
                auth: EightByEightAuth? = nil, allowFrom: [IPRange] = []) {
        self.id = id
        self.provider = provider
        self.channelSecrets = channelSecrets
        self.lineKeys = channelSecrets.map { KeyedHMAC(key: Array($0.utf8)) }
        self.auth = auth
        self.allowFrom = allowFrom
    }

    /// How requests are authenticated, in words and without any secret.
    public var authenticationSummary: String {
        switch provider {
        case .line:
            let count = channelSecrets.count
            return count == 1 ? "LINE signature (1 channel secret)" : "LINE signature (\(count) channel secrets)"
        case .eightByEight:
            return auth?.description ?? "no authentication"
        }
    }

    /// `id (provider, authentication[, allow_from ranges])`; never shows secrets.
    public var description: String {
        var text = "\(id) (\(provider.rawValue), \(authenticationSummary)"
        if !allowFrom.isEmpty {
            text += ", allow_from \(allowFrom.map(\.description).joined(separator: " "))"
        }
        return text + ")"
    }
}
