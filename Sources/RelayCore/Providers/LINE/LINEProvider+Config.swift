/// LINE's `routes.yaml` keys: `channel_secret` / `channel_secrets` on sources, `line_channel_secret` on
/// passthrough destinations.
extension LINEProvider: ProviderConfigDecoding {
    var sourceKeys: [String] { ["channel_secret", "channel_secrets"] }
    var credentialHint: String { "LINE requests are verified with channel_secret" }
    var sourceExample: String { "line: { provider: line, channel_secret: ... }" }

    /// `channel_secret` and `channel_secrets` together, deduplicated in order (both may be given during rotation).
    func decodeSourceSettings(_ source: MappingFields, decoder: inout ConfigDecoder) -> (any ProviderSourceSettings)? {
        var secrets: [String] = []
        if let node = source.value("channel_secret"),
           let secret = decoder.nonEmptyString(node, path: source.path("channel_secret"), secret: true) {
            secrets.append(secret)
        }
        if let node = source.value("channel_secrets"),
           let list = decoder.stringList(node, path: source.path("channel_secrets"),
                                         example: "[${OLD_SECRET}, ${NEW_SECRET}]", secret: true) {
            secrets += list.map(\.0)
        }
        var seen = Set<String>()
        return LINESourceSettings(channelSecrets: secrets.filter { seen.insert($0).inserted })
    }

    func checkRequiredSourceKeys(_ source: MappingFields, decoder: inout ConfigDecoder) {
        if !source.has("channel_secret"), !source.has("channel_secrets") {
            decoder.error(source.path("channel_secret"), source.line,
                          "a LINE source needs channel_secret (or channel_secrets during rotation)")
        }
    }

    var destinationKeys: [String] { ["line_channel_secret"] }

    func decodeDestinationSettings(
        _ fields: MappingFields, format: OutputFormat, decoder: inout ConfigDecoder
    ) -> (any ProviderDestinationSettings)? {
        guard let node = fields.value("line_channel_secret") else { return nil }
        let secret = decoder.nonEmptyString(node, path: fields.path("line_channel_secret"), secret: true)
        if format == .canonical {
            decoder.warn(fields.path("line_channel_secret"), fields.keyLine("line_channel_secret"),
                         "ignored: line_channel_secret only applies to passthrough destinations")
        }
        return secret.map { LINEDestinationSettings(channelSecret: $0) }
    }

    func passthroughRequirement(_ destination: DestinationConfig) -> String? {
        guard destination.providerSettings(for: kind) == nil else { return nil }
        return "line_channel_secret to re-sign them (the receiving bot's channel secret)"
    }
}
