import Yams

/// Decoding of the `sources` section.
extension ConfigDecoder {
    /// The generic keys around the providers' own, in the order messages list them.
    private static let sourceKeys = ["provider"] + ProviderRegistry.providers.flatMap(\.sourceKeys) + ["allow_from", "expect_receipt"]

    /// Longest `expect_receipt` (the ledger keeps a message for `message_window`, 14 days by default).
    static let maxExpectReceipt: Duration = .seconds(30 * 86_400)

    /// Whether an id is usable as a URL path segment and metric label: `[A-Za-z0-9_-]+`.
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    /// Decodes `sources`, which must be a non-empty mapping of id to definition.
    mutating func decodeSources(_ node: Node?, line: Int?) -> [SourceConfig] {
        guard let node else {
            let example = ProviderRegistry.providers.first?.sourceExample ?? ""
            error("sources", line, "at least one source is required, e.g. sources: { \(example) }")
            return []
        }
        guard case .mapping(let mapping) = node, !mapping.isEmpty else {
            error("sources", node.mark?.line, "must be a non-empty mapping of source id to definition")
            return []
        }
        var sources: [SourceConfig] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                error("sources", key.mark?.line, "source ids must be plain names, found \(Self.kind(key))")
                continue
            }
            let id = scalar.string
            sourceIDs.append(id)
            if !Self.isValidID(id) {
                error("sources.\(id)", key.mark?.line, "invalid source id \(Self.quoted(id)) (use letters, digits, _ and -)")
            }
            if let source = decodeSource(id: id, node: value, line: key.mark?.line) { sources.append(source) }
        }
        return sources
    }

    private mutating func decodeSource(id: String, node: Node, line: Int?) -> SourceConfig? {
        let path = "sources.\(id)"
        guard let source = fields(node, path: path, line: line, allowed: Self.sourceKeys) else { return nil }
        let provider = decodeProvider(source)
        // Every provider reads its own keys whatever the source's provider, so a bad value is reported either way.
        var settings: (any ProviderSourceSettings)?
        for candidate in ProviderRegistry.providers {
            let decoded = candidate.decodeSourceSettings(source, decoder: &self)
            if candidate.kind == provider?.kind { settings = decoded }
        }
        let allowFrom = source.value("allow_from").flatMap { decodeAllowFrom($0, path: source.path("allow_from")) } ?? []
        let expectReceipt = source.value("expect_receipt").flatMap { duration($0, path: source.path("expect_receipt"), max: Self.maxExpectReceipt) }
        guard let provider else { return nil }
        for other in ProviderRegistry.providers where other.kind != provider.kind {
            for key in other.sourceKeys where source.has(key) {
                error(source.path(key), source.keyLine(key),
                      "\(key) applies only to \(other.displayName) sources; \(provider.credentialHint)")
            }
        }
        provider.checkRequiredSourceKeys(source, decoder: &self)
        // No settings means their errors were reported: the file is invalid and this source is never used.
        guard let settings else { return nil }
        return SourceConfig(id: id, provider: provider, settings: settings, allowFrom: allowFrom, expectReceipt: expectReceipt)
    }

    private mutating func decodeProvider(_ source: MappingFields) -> (any ProviderConfigDecoding)? {
        let path = source.path("provider")
        guard let node = source.value("provider") else {
            error(path, source.line, "missing provider (\(ProviderRegistry.namesInWords))")
            return nil
        }
        guard let text = string(node, path: path) else { return nil }
        guard let provider = ProviderRegistry.configDecoding(for: ProviderKind(rawValue: text)) else {
            error(path, node.mark?.line, "unknown provider \(Self.quoted(text)) (expected \(ProviderRegistry.namesInWords))")
            return nil
        }
        return provider
    }

    private mutating func decodeAllowFrom(_ node: Node, path: String) -> [IPRange]? {
        guard let entries = stringList(node, path: path, example: "[203.0.113.0/24, 2001:db8::/32]") else { return nil }
        var ranges: [IPRange] = []
        for (index, (text, item)) in entries.enumerated() {
            if let range = IPRange(text) {
                ranges.append(range)
            } else {
                error("\(path)[\(index)]", item.mark?.line,
                      "invalid address range \(Self.quoted(text)) (use CIDR such as 203.0.113.0/24, 2001:db8::/32, or a single address)")
            }
        }
        return ranges.count == entries.count ? ranges : nil
    }
}
