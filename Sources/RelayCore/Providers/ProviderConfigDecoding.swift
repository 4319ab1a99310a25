/// The config side of a provider: the `sources.<id>` and `destinations.<id>` keys it owns, decoded with the
/// decoder's readers so its issues read like every other (`file:line: key.path: message`).
///
/// Internal, unlike ``WebhookProvider``, because it works on the decoder's own YAML readers.
protocol ProviderConfigDecoding: WebhookProvider {
    /// Source keys this provider owns, in the order messages list them.
    var sourceKeys: [String] { get }
    /// Said when a source of this provider has another provider's key, e.g. "... sources use auth".
    var credentialHint: String { get }
    /// A source definition for the "at least one source is required" message, e.g. `id: { provider: ..., ... }`.
    var sourceExample: String { get }
    /// Reads this provider's keys of `source` and reports bad values. Called for every source whatever its
    /// provider (so a bad value is reported either way); the result is used for this provider's sources.
    func decodeSourceSettings(_ source: MappingFields, decoder: inout ConfigDecoder) -> (any ProviderSourceSettings)?
    /// Reports keys a source of this provider lacks; called after `decodeSourceSettings`, for its sources only.
    func checkRequiredSourceKeys(_ source: MappingFields, decoder: inout ConfigDecoder)

    /// Destination keys this provider owns, in the order messages list them.
    var destinationKeys: [String] { get }
    /// Reads this provider's keys of a destination (`format` already decoded); nil when none is given.
    func decodeDestinationSettings(
        _ fields: MappingFields, format: OutputFormat, decoder: inout ConfigDecoder
    ) -> (any ProviderDestinationSettings)?
    /// What a passthrough destination that receives this provider's events lacks, as the end of
    /// "... and needs <this>"; nil when it can take them.
    func passthroughRequirement(_ destination: DestinationConfig) -> String?
}

extension ProviderConfigDecoding {
    var destinationKeys: [String] { [] }
    func decodeDestinationSettings(
        _ fields: MappingFields, format: OutputFormat, decoder: inout ConfigDecoder
    ) -> (any ProviderDestinationSettings)? { nil }
    func passthroughRequirement(_ destination: DestinationConfig) -> String? { nil }
}
