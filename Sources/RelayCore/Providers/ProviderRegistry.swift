/// The providers relay knows. Adding a provider is its folder under `Providers/` and one entry in `providers`;
/// nothing outside `Providers/` names a provider (a test checks that).
public enum ProviderRegistry {
    /// Every provider, in the order `relay check`, messages and the schema list them.
    static let providers: [any ProviderConfigDecoding] = [
        LINEProvider(),
        EightByEightProvider(),
    ]

    /// Every provider, in registry order.
    public static var all: [any WebhookProvider] { providers }

    /// The provider of `kind`; nil for a name no provider has.
    public static func provider(for kind: ProviderKind) -> (any WebhookProvider)? {
        configDecoding(for: kind)
    }

    /// The provider named `name` (the `provider:` value of a source).
    public static func provider(named name: String) -> (any WebhookProvider)? {
        provider(for: ProviderKind(rawValue: name))
    }

    /// The provider that offers the `relay simulate` sample `name`.
    public static func provider(ofSample name: String) -> (any WebhookProvider)? {
        providers.first { $0.sampleNames.contains(name) }
    }

    /// The providers' names for messages: "a or b", "a, b or c".
    public static var namesInWords: String {
        let names = providers.map(\.kind.rawValue)
        guard names.count > 1 else { return names.first ?? "" }
        return names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }

    static func configDecoding(for kind: ProviderKind) -> (any ProviderConfigDecoding)? {
        providers.first { $0.kind == kind }
    }
}
