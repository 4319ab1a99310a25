/// A provider's name as written in `routes.yaml` (`provider: ...`) and kept in the store's `provider` column.
///
/// A plain name, not an enum: the providers are listed once, in ``ProviderRegistry``, and a stored event whose
/// provider a later build no longer has still loads (only its passthrough body cannot be rebuilt).
public struct ProviderKind: RawRepresentable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The name, e.g. the `provider:` value of a source.
    public let rawValue: String

    /// Wraps a name; whether a provider of that name exists is ``ProviderRegistry``'s to say.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Every registered provider's kind, in registry order.
    public static var allCases: [ProviderKind] { ProviderRegistry.all.map(\.kind) }

    public var description: String { rawValue }
}
