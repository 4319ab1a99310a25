/// A passthrough destination's `line_channel_secret`: the receiving bot's channel secret, keyed once.
public struct LINEDestinationSettings: ProviderDestinationSettings {
    /// The secret LINE events are re-signed with for this destination.
    public var channelSecret: String { didSet { signer = KeyedHMAC(key: Array(channelSecret.utf8)) } }
    /// `channelSecret`, keyed for HMAC once rather than per attempt.
    public private(set) var signer: KeyedHMAC

    /// Creates the settings.
    public init(channelSecret: String) {
        self.channelSecret = channelSecret
        self.signer = KeyedHMAC(key: Array(channelSecret.utf8))
    }

    public var kind: ProviderKind { .line }

    public func passthroughHeaders(for body: [UInt8]) -> [(name: String, value: String)] {
        [("X-Line-Signature", LINEProvider.signature(body: body, key: signer))]
    }

    public var summary: String { "LINE re-signed" }
}
