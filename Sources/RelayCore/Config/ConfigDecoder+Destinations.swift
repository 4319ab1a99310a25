import Foundation
import Yams

/// Decoding of the `destinations` section.
extension ConfigDecoder {
    /// The providers' keys sit before `batch`, where messages have always listed them.
    private static let destinationKeys = ["url", "format", "secret", "headers", "timeout", "concurrency", "retry"]
        + ProviderRegistry.providers.flatMap(\.destinationKeys) + ["batch", "breaker", "rate", "ordering", "redact"]
    /// Headers relay sets itself (framing, signing); letting config override them would break deliveries.
    static let reservedHeaders: Set<String> = Set([
        "content-type", "content-length", "host", "webhook-id", "webhook-timestamp", "webhook-signature",
    ] + ProviderRegistry.providers.flatMap(\.passthroughHeaderNames))
    private static let tokenSymbols = Set("!#$%&'*+-.^_`|~")

    /// Decodes `destinations`; absent or empty is fine (events are then stored but not forwarded).
    mutating func decodeDestinations(_ node: Node?) -> [DestinationConfig] {
        guard let node else { return [] }
        guard case .mapping(let mapping) = node else {
            error("destinations", node.mark?.line, "must be a mapping of destination id to definition, found \(Self.kind(node))")
            return []
        }
        var destinations: [DestinationConfig] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                error("destinations", key.mark?.line, "destination ids must be plain names, found \(Self.kind(key))")
                continue
            }
            let id = scalar.string
            destinationLines.append((id, key.mark?.line))
            if !Self.isValidID(id) {
                error("destinations.\(id)", key.mark?.line,
                      "invalid destination id \(Self.quoted(id)) (use letters, digits, _ and -)")
            }
            if let destination = decodeDestination(id: id, node: value, line: key.mark?.line) {
                destinations.append(destination)
            }
        }
        return destinations
    }

    private mutating func decodeDestination(id: String, node: Node, line: Int?) -> DestinationConfig? {
        guard let fields = fields(node, path: "destinations.\(id)", line: line, allowed: Self.destinationKeys) else {
            return nil
        }
        var destination = DestinationConfig(id: id, url: "")
        if let url = fields.value("url") {
            destination.url = destinationURL(url, path: fields.path("url")) ?? ""
        } else {
            error(fields.path("url"), fields.line, "missing url (the http:// or https:// endpoint to deliver to)")
        }
        if let node = fields.value("format"), let text = string(node, path: fields.path("format")) {
            if let format = OutputFormat(rawValue: text) {
                destination.format = format
            } else {
                error(fields.path("format"), node.mark?.line, "unknown format \(Self.quoted(text)) (expected canonical or passthrough)")
            }
        }
        if let node = fields.value("secret"), let (secret, key) = signingSecret(node, path: fields.path("secret")) {
            destination.secret = secret
            destination.signingKey = key
        }
        for provider in ProviderRegistry.providers {
            if let settings = provider.decodeDestinationSettings(fields, format: destination.format, decoder: &self) {
                destination.providerSettings.append(settings)
            }
        }
        if let node = fields.value("headers") {
            destination.headers = headers(node, path: fields.path("headers"))
        }
        if let node = fields.value("timeout") {
            destination.timeout = duration(node, path: fields.path("timeout"), max: Self.maxDestinationTimeout)
                ?? destination.timeout
        }
        if let node = fields.value("concurrency") {
            destination.concurrency = integer(node, path: fields.path("concurrency"), in: 1...1024) ?? destination.concurrency
        }
        if let node = fields.value("batch") {
            destination.batch = integer(node, path: fields.path("batch"), in: 1...DestinationConfig.maxBatch)
            if destination.format == .passthrough {
                error(fields.path("batch"), fields.keyLine("batch"),
                      "batch applies to canonical destinations only (a passthrough body is the provider's own, one per request)")
            }
        }
        if let node = fields.value("retry") {
            destination.retry = retrySchedule(node, path: fields.path("retry"))
        }
        if let node = fields.value("breaker") {
            destination.breaker = breaker(node, path: fields.path("breaker"))
        }
        if let node = fields.value("rate"), let text = string(node, path: fields.path("rate")) {
            if let rate = RateText.parse(text), rate <= Self.maxRate {
                destination.rate = rate
            } else {
                error(fields.path("rate"), node.mark?.line,
                      "invalid rate \(Self.quoted(text)) (use attempts per second or minute, e.g. 50/s or 600/m, at most \(Int(Self.maxRate))/s)")
            }
        }
        if let node = fields.value("redact") {
            destination.redact = decodeRedaction(node, path: fields.path("redact"))
            if destination.format == .passthrough {
                error(fields.path("redact"), fields.keyLine("redact"),
                      "redact applies to canonical destinations only (a passthrough body is the provider's own bytes, sent as they came)")
            }
        }
        if let node = fields.value("ordering"), let text = string(node, path: fields.path("ordering")) {
            if let ordering = DeliveryOrdering(rawValue: text) {
                destination.ordering = ordering
            } else {
                error(fields.path("ordering"), node.mark?.line, "unknown ordering \(Self.quoted(text)) (expected none or subject)")
            }
        }
        return destination
    }

    /// The most attempts per second `rate` may allow.
    static let maxRate: Double = 100_000

    /// `breaker: off`, or a mapping of `failures`, `cooldown` and `max_cooldown` (each optional).
    private mutating func breaker(_ node: Node, path: String) -> BreakerSettings? {
        if case .scalar(let scalar) = node {
            if scalar.string == "off" || scalar.string == "false" { return nil }
            error(path, node.mark?.line, "expected off or a mapping such as { failures: 5, cooldown: 10s, max_cooldown: 5m }")
            return BreakerSettings()
        }
        guard let fields = fields(node, path: path, line: node.mark?.line, allowed: ["failures", "cooldown", "max_cooldown"]) else {
            return BreakerSettings()
        }
        var settings = BreakerSettings()
        if let node = fields.value("failures") {
            settings.failures = integer(node, path: fields.path("failures"), in: 1...1_000) ?? settings.failures
        }
        if let node = fields.value("cooldown") {
            settings.cooldown = duration(node, path: fields.path("cooldown"), max: .seconds(3_600)) ?? settings.cooldown
        }
        if let node = fields.value("max_cooldown") {
            settings.maxCooldown = duration(node, path: fields.path("max_cooldown"), max: .seconds(86_400)) ?? settings.maxCooldown
        } else if settings.cooldown > settings.maxCooldown {
            settings.maxCooldown = settings.cooldown
        }
        if settings.maxCooldown < settings.cooldown {
            error(fields.path("max_cooldown"), fields.keyLine("max_cooldown"),
                  "must be at least cooldown (\(DurationText.format(settings.cooldown)))")
        }
        return settings
    }

    /// An absolute http(s) URL with a host; the value is not echoed because URLs can carry credentials.
    private mutating func destinationURL(_ node: Node, path: String) -> String? {
        guard let text = nonEmptyString(node, path: path) else { return nil }
        let components = URLComponents(string: text)
        let scheme = components?.scheme?.lowercased()
        guard let components, scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            error(path, node.mark?.line, "must be an absolute http:// or https:// URL with a host, e.g. http://crm.internal:8000/events")
            return nil
        }
        guard text.utf8.count <= Self.maxURLBytes else {
            error(path, node.mark?.line, "is \(text.utf8.count) bytes long; at most \(Self.maxURLBytes) (every request's head stays within 16 KiB)")
            return nil
        }
        return text
    }

    /// A Standard Webhooks secret: `whsec_` + base64 of 1...64 bytes.
    private mutating func signingSecret(_ node: Node, path: String) -> (String, [UInt8])? {
        guard let text = string(node, path: path, secret: true) else { return nil }
        let line = node.mark?.line
        guard text.hasPrefix("whsec_") else {
            error(path, line, "must start with \"whsec_\" followed by base64 (a Standard Webhooks secret)")
            return nil
        }
        var encoded = String(text.dropFirst("whsec_".count))
        // Some generators drop the `=` padding; restore it rather than reject an otherwise valid key.
        if encoded.count % 4 != 0 { encoded += String(repeating: "=", count: 4 - encoded.count % 4) }
        guard let data = Data(base64Encoded: encoded) else {
            error(path, line, "the part after \"whsec_\" is not valid base64")
            return nil
        }
        guard (1...64).contains(data.count) else {
            error(path, line, "the key after \"whsec_\" must decode to 1 to 64 bytes (found \(data.count))")
            return nil
        }
        return (text, Array(data))
    }

    private mutating func headers(_ node: Node, path: String) -> [(name: String, value: String)] {
        guard case .mapping(let mapping) = node else {
            error(path, node.mark?.line, "expected a mapping of header name to value, found \(Self.kind(node))")
            return []
        }
        var result: [(name: String, value: String)] = []
        var seen = Set<String>()
        for (key, valueNode) in mapping {
            guard case .scalar(let scalar) = key else {
                error(path, key.mark?.line, "header names must be plain names, found \(Self.kind(key))")
                continue
            }
            let name = scalar.string
            let headerPath = "\(path).\(name)"
            let line = key.mark?.line
            let lowered = name.lowercased()
            if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || Self.tokenSymbols.contains($0)) }) {
                error(headerPath, line, "invalid header name \(Self.quoted(name))")
                continue
            }
            if Self.reservedHeaders.contains(lowered) {
                error(headerPath, line, "\(name) is set by relay and cannot be overridden")
                continue
            }
            if !seen.insert(lowered).inserted {
                error(headerPath, line, "header \(name) is given more than once (names are case-insensitive)")
                continue
            }
            // Header values may be credentials (e.g. Authorization), so they are never quoted in messages.
            guard let value = string(valueNode, path: headerPath) else { continue }
            if value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                error(headerPath, valueNode.mark?.line, "header value must not contain line breaks or NUL")
                continue
            }
            result.append((name, value))
        }
        // Every request relay sends has a head of at most 16 KiB (SPEC section 13); the configured headers may take half.
        let size = result.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        if size > Self.maxConfiguredHeaderBytes {
            error(path, node.mark?.line, "the headers take \(size) bytes; at most \(Self.maxConfiguredHeaderBytes) (every request's head stays within 16 KiB)")
        }
        return result
    }

    /// The longest destination URL, in bytes.
    static let maxURLBytes = 4 << 10
    /// The most bytes (`Name: value` and its line end) a destination's configured headers may add to a request head.
    static let maxConfiguredHeaderBytes = 8 << 10

    mutating func integer(_ node: Node, path: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, path: path) else { return nil }
        guard text.count <= String(range.upperBound).count, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text),
              range.contains(value) else {
            error(path, node.mark?.line, "must be an integer from \(range.lowerBound) to \(range.upperBound), found \(Self.quoted(text))")
            return nil
        }
        return value
    }
}
