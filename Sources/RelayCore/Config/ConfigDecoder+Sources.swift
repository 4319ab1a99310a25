import Yams

/// Decoding of the `sources` section.
extension ConfigDecoder {
    private static let sourceKeys = ["provider", "channel_secret", "channel_secrets", "auth", "allow_from"]

    /// Whether an id is usable as a URL path segment and metric label: `[A-Za-z0-9_-]+`.
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    /// Decodes `sources`, which must be a non-empty mapping of id to definition.
    mutating func decodeSources(_ node: Node?, line: Int?) -> [SourceConfig] {
        guard let node else {
            error("sources", line, "at least one source is required, e.g. sources: { line: { provider: line, channel_secret: ... } }")
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
        let secrets = decodeChannelSecrets(source)
        let auth = source.value("auth").flatMap { decodeAuth($0, path: source.path("auth"), line: source.keyLine("auth")) }
        let allowFrom = source.value("allow_from").flatMap { decodeAllowFrom($0, path: source.path("allow_from")) } ?? []
        guard let provider else { return nil }
        switch provider {
        case .line:
            if source.has("auth") {
                error(source.path("auth"), source.keyLine("auth"),
                      "auth applies only to 8x8 sources; LINE requests are verified with channel_secret")
            }
            if secrets.isEmpty, !source.has("channel_secret"), !source.has("channel_secrets") {
                error(source.path("channel_secret"), source.line,
                      "a LINE source needs channel_secret (or channel_secrets during rotation)")
            }
        case .eightByEight:
            for key in ["channel_secret", "channel_secrets"] where source.has(key) {
                error(source.path(key), source.keyLine(key), "\(key) applies only to LINE sources; 8x8 sources use auth")
            }
            if !source.has("auth") {
                error(source.path("auth"), source.line,
                      "an 8x8 source needs auth with one of basic, bearer or none: true")
            }
        }
        return SourceConfig(id: id, provider: provider, channelSecrets: secrets,
                            auth: provider == .eightByEight ? auth : nil, allowFrom: allowFrom)
    }

    private mutating func decodeProvider(_ source: MappingFields) -> ProviderKind? {
        let path = source.path("provider")
        guard let node = source.value("provider") else {
            error(path, source.line, "missing provider (line or 8x8)")
            return nil
        }
        guard let text = string(node, path: path) else { return nil }
        guard let provider = ProviderKind(rawValue: text) else {
            error(path, node.mark?.line, "unknown provider \(Self.quoted(text)) (expected line or 8x8)")
            return nil
        }
        return provider
    }

    /// `channel_secret` and `channel_secrets` together, deduplicated in order (both may be given during rotation).
    private mutating func decodeChannelSecrets(_ source: MappingFields) -> [String] {
        var secrets: [String] = []
        if let node = source.value("channel_secret"),
           let secret = nonEmptyString(node, path: source.path("channel_secret"), secret: true) {
            secrets.append(secret)
        }
        if let node = source.value("channel_secrets"),
           let list = stringList(node, path: source.path("channel_secrets"), example: "[${OLD_SECRET}, ${NEW_SECRET}]",
                                 secret: true) {
            secrets += list.map(\.0)
        }
        var seen = Set<String>()
        return secrets.filter { seen.insert($0).inserted }
    }

    private mutating func decodeAuth(_ node: Node, path: String, line: Int?) -> EightByEightAuth? {
        guard let auth = fields(node, path: path, line: line, allowed: ["basic", "bearer", "none"]) else { return nil }
        let given = ["basic", "bearer", "none"].filter { auth.has($0) }
        guard given.count == 1 else {
            let found = given.isEmpty ? "none given" : "found \(given.joined(separator: " and "))"
            error(path, auth.line, "set exactly one of auth.basic, auth.bearer or auth.none: true (\(found))")
            return nil
        }
        if let basic = auth.value("basic") {
            let basicPath = auth.path("basic")
            guard let fields = fields(basic, path: basicPath, line: auth.keyLine("basic"),
                                      allowed: ["username", "password"]) else { return nil }
            let username = requiredString(fields, "username", secret: false)
            let password = requiredString(fields, "password", secret: true)
            guard let username, let password else { return nil }
            if username.contains(":") {
                error(fields.path("username"), fields.keyLine("username"), "must not contain \":\" (HTTP Basic forbids it)")
                return nil
            }
            return .basic(username: username, password: password)
        }
        if let bearer = auth.value("bearer") {
            return nonEmptyString(bearer, path: auth.path("bearer"), secret: true).map { .bearer($0) }
        }
        let nonePath = auth.path("none")
        guard let noneNode = auth.value("none"), let text = string(noneNode, path: nonePath) else { return nil }
        switch text.lowercased() {
        case "true":
            warn(nonePath, noneNode.mark?.line, "8x8 requests will not be authenticated")
            return EightByEightAuth.none
        case "false":
            error(nonePath, noneNode.mark?.line, "false leaves no authentication method; use basic or bearer "
                + "(or none: true to accept unauthenticated requests)")
        default:
            error(nonePath, noneNode.mark?.line, "must be true or false, found \(Self.quoted(text))")
        }
        return nil
    }

    /// A key that must be present with a non-empty value.
    private mutating func requiredString(_ fields: MappingFields, _ key: String, secret: Bool) -> String? {
        guard let node = fields.value(key) else {
            error(fields.path(key), fields.line, "missing \(key)")
            return nil
        }
        return nonEmptyString(node, path: fields.path(key), secret: secret)
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
