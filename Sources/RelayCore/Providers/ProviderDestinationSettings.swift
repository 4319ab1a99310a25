/// Settings a provider keeps on a destination (its own `destinations.<id>` keys), prepared once at config time.
public protocol ProviderDestinationSettings: Sendable, CustomStringConvertible {
    /// The provider these settings belong to.
    var kind: ProviderKind { get }
    /// Headers that authenticate a passthrough `body` of this provider to the destination (e.g. a re-signature).
    func passthroughHeaders(for body: [UInt8]) -> [(name: String, value: String)]
    /// What `relay check` shows for a passthrough destination with these settings, e.g. "re-signed".
    var summary: String { get }
}

extension ProviderDestinationSettings {
    /// The summary: these settings hold secrets, so printing them must not fall back to showing every field.
    public var description: String { summary }
}
