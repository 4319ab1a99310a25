import Foundation
import Yams

/// Typed readers over Yams nodes; each reports its own problems and returns nil on failure.
extension ConfigDecoder {
    /// "a mapping", "a list" or "a single value", for type-mismatch messages.
    static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar, .alias: return "a single value"
        }
    }

    /// Quotes a non-secret value for a message, shortened so one issue stays one readable line.
    static func quoted(_ text: String) -> String {
        let short = text.count > 60 ? text.prefix(57) + "..." : Substring(text)
        let escaped = short.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
        return "\"\(escaped)\""
    }

    /// Reads a mapping, reporting a wrong type and every unknown key; returns only the allowed entries.
    mutating func fields(_ node: Node, path: String, line: Int?, allowed: [String]) -> MappingFields? {
        guard case .mapping(let mapping) = node else {
            error(path, node.mark?.line, "expected a mapping with keys \(allowed.joined(separator: ", ")), found \(Self.kind(node))")
            return nil
        }
        var entries: [MappingFields.Entry] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                error(path, key.mark?.line, "keys must be plain names, found \(Self.kind(key))")
                continue
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                reportUnknownKey(name, path: MappingFields.join(path, name), line: key.mark?.line, allowed: allowed)
                continue
            }
            entries.append(.init(key: name, keyLine: key.mark?.line, value: value))
        }
        return MappingFields(path: path, line: line ?? node.mark?.line, entries: entries)
    }

    private mutating func reportUnknownKey(_ name: String, path: String, line: Int?, allowed: [String]) {
        if let suggestion = KeySuggestion.closest(to: name, in: allowed) {
            error(path, line, "unknown key \(Self.quoted(name)) (did you mean \"\(suggestion)\"?)")
        } else {
            error(path, line, "unknown key \(Self.quoted(name)) (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }

    /// Reads a scalar and expands `${VAR}` references; secret values get the development-secret warning.
    mutating func string(_ node: Node, path: String, secret: Bool = false) -> String? {
        guard case .scalar(let scalar) = node else {
            error(path, node.mark?.line, "expected a single value, found \(Self.kind(node))")
            return nil
        }
        let line = node.mark?.line
        // A plain null (`key:`) reaching here is an explicit empty value.
        let raw = MappingFields.isNull(node) ? "" : scalar.string
        let expanded = EnvironmentSubstitution(raw, environment: environment)
        for failure in expanded.failures {
            switch failure {
            case .unset(let name):
                error(path, line, "environment variable \(name) is not set (set it, or write ${\(name):-default})")
            case .malformed:
                error(path, line, "malformed variable reference; write ${NAME} or ${NAME:-default}")
            }
        }
        guard expanded.failures.isEmpty else { return nil }
        if secret, !expanded.defaultedVariables.isEmpty {
            warn(path, line, "development secret in use (set \(expanded.defaultedVariables.joined(separator: ", ")))")
            developmentSecrets += expanded.defaultedVariables.filter { !developmentSecrets.contains($0) }
        }
        return expanded.value
    }

    /// Like `string`, but an empty value is an error.
    mutating func nonEmptyString(_ node: Node, path: String, secret: Bool = false) -> String? {
        guard let value = string(node, path: path, secret: secret) else { return nil }
        guard !value.isEmpty else {
            error(path, node.mark?.line, "must not be empty")
            return nil
        }
        return value
    }

    /// A key that must be present with a non-empty value.
    mutating func requiredString(_ fields: MappingFields, _ key: String, secret: Bool) -> String? {
        guard let node = fields.value(key) else {
            error(fields.path(key), fields.line, "missing \(key)")
            return nil
        }
        return nonEmptyString(node, path: fields.path(key), secret: secret)
    }

    /// Reads a list; `example` shows the expected shape in the message.
    mutating func sequence(_ node: Node, path: String, example: String) -> [Node]? {
        guard case .sequence(let items) = node else {
            error(path, node.mark?.line, "expected a list such as \(example), found \(Self.kind(node))")
            return nil
        }
        return Array(items)
    }

    /// Reads a list of non-empty strings; an empty list is an error because omitting the key is how to say "all".
    mutating func stringList(_ node: Node, path: String, example: String, secret: Bool = false) -> [(String, Node)]? {
        guard let items = sequence(node, path: path, example: example) else { return nil }
        guard !items.isEmpty else {
            error(path, node.mark?.line, "must not be an empty list (omit the key instead)")
            return nil
        }
        var values: [(String, Node)] = []
        var failed = false
        for (index, item) in items.enumerated() {
            if let value = nonEmptyString(item, path: "\(path)[\(index)]", secret: secret) {
                values.append((value, item))
            } else {
                failed = true
            }
        }
        return failed ? nil : values
    }

    /// Reads a positive (or, with `allowZero`, non-negative) duration, optionally capped.
    mutating func duration(_ node: Node, path: String, max: Duration? = nil, allowZero: Bool = false) -> Duration? {
        guard let text = string(node, path: path) else { return nil }
        let line = node.mark?.line
        guard let value = DurationText.parse(text) else {
            error(path, line, "invalid duration \(Self.quoted(text)) (use a number with ms, s, m, h or d, e.g. 10s or 1.5s)")
            return nil
        }
        guard value > .zero || (allowZero && value == .zero) else {
            error(path, line, allowZero ? "must not be negative" : "must be greater than 0")
            return nil
        }
        if let max, value > max {
            error(path, line, "\(Self.quoted(text)) is too long (at most \(DurationText.format(max)))")
            return nil
        }
        return value
    }

    /// Reads `true` or `false`.
    mutating func bool(_ node: Node, path: String) -> Bool? {
        guard let text = string(node, path: path) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            error(path, node.mark?.line, "expected true or false, found \(Self.quoted(text))")
            return nil
        }
    }

    /// Reads a retry schedule: a non-empty list of at most 20 positive durations.
    mutating func retrySchedule(_ node: Node, path: String) -> [Duration]? {
        guard let items = sequence(node, path: path, example: "[1s, 10s, 30s]") else { return nil }
        guard !items.isEmpty else {
            error(path, node.mark?.line, "must list at least one delay, e.g. [1s, 10s, 30s]")
            return nil
        }
        guard items.count <= Self.maxRetryEntries else {
            error(path, node.mark?.line, "has \(items.count) delays; at most \(Self.maxRetryEntries) are allowed")
            return nil
        }
        let delays = items.enumerated().map { duration($1, path: "\(path)[\($0)]") }
        return delays.contains(where: { $0 == nil }) ? nil : delays.compactMap { $0 }
    }

    /// Reads a listen address (`host:port`, `[v6]:port`).
    mutating func listenAddress(_ node: Node, path: String) -> ListenAddress? {
        guard let text = string(node, path: path) else { return nil }
        switch ListenAddress.parse(text) {
        case .success(let address):
            return address
        case .failure(let problem):
            error(path, node.mark?.line, "invalid listen address \(Self.quoted(text)): \(problem.reason)")
            return nil
        }
    }
}
