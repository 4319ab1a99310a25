import Yams

/// Decoding of route filters (`routes[].where`) and redaction (`destinations.<id>.redact`), SPEC section 16.
extension ConfigDecoder {
    /// The operators a condition may use instead of a value.
    static let filterOperators = ["exists", "prefix", "not"]

    /// `where`: a mapping of dot paths to a value, a list of values, or one operator; nil (with errors) when invalid.
    mutating func decodeFilter(_ node: Node, path: String) -> EventFilter? {
        guard case .mapping(let mapping) = node, !mapping.isEmpty else {
            error(path, node.mark?.line, "expected a mapping of field paths to values, e.g. where: {data.channel: whatsapp}, found \(Self.kind(node))")
            return nil
        }
        var conditions: [EventFilter.Condition] = []
        var valid = true
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                error(path, key.mark?.line, "field paths must be plain text such as data.status, found \(Self.kind(key))")
                valid = false
                continue
            }
            let text = scalar.string
            let conditionPath = "\(path).\(text)"
            if let problem = FieldPath.problem(text) {
                error(text.isEmpty ? "\(path).\"\"" : conditionPath, key.mark?.line, "the path \(problem)")
                valid = false
                continue
            }
            if text == "data.progress" || text.hasPrefix("data.progress.") {
                error(conditionPath, key.mark?.line, "data.progress is written when the event is stored, after routing, so a filter "
                      + "cannot read it; to send only statuses that advance a message, use advancing_only on the route")
                valid = false
                continue
            }
            guard let test = filterTest(value, path: conditionPath) else {
                valid = false
                continue
            }
            conditions.append(EventFilter.Condition(path: FieldPath(text)!, test: test))
        }
        return valid ? EventFilter(conditions) : nil
    }

    /// One condition's value: a scalar, a list of scalars, or `{exists: ...}`, `{prefix: ...}`, `{not: ...}`.
    private mutating func filterTest(_ node: Node, path: String) -> EventFilter.Test? {
        switch node {
        case .scalar:
            return operand(node, path: path).map { .anyOf([$0]) }
        case .sequence:
            return operands(node, path: path).map { .anyOf($0) }
        case .mapping(let mapping):
            guard mapping.count == 1, let (key, value) = mapping.first, case .scalar(let name) = key else {
                error(path, node.mark?.line, "expected one operator (\(Self.filterOperators.joined(separator: ", "))), e.g. {exists: true}")
                return nil
            }
            let operatorPath = "\(path).\(name.string)"
            switch name.string {
            case "exists":
                return bool(value, path: operatorPath).map { .exists($0) }
            case "prefix":
                guard case .scalar = value, let text = string(value, path: operatorPath) else {
                    error(operatorPath, value.mark?.line, "expected the text a value starts with, e.g. prefix: \"campaign-\"")
                    return nil
                }
                return .prefix(text)
            case "not":
                if case .sequence = value { return operands(value, path: operatorPath).map { .not($0) } }
                return operand(value, path: operatorPath).map { .not([$0]) }
            default:
                error(operatorPath, key.mark?.line,
                      "unknown operator \(Self.quoted(name.string)) (use a value, a list of values, or one of \(Self.filterOperators.joined(separator: ", ")))")
                return nil
            }
        case .alias:
            error(path, node.mark?.line, "aliases are not supported here")
            return nil
        }
    }

    private mutating func operands(_ node: Node, path: String) -> [EventFilter.Operand]? {
        guard let items = sequence(node, path: path, example: "[whatsapp, viber]") else { return nil }
        guard !items.isEmpty else {
            error(path, node.mark?.line, "must not be an empty list (it would match nothing)")
            return nil
        }
        var result: [EventFilter.Operand] = []
        for (index, item) in items.enumerated() {
            guard let operand = operand(item, path: "\(path)[\(index)]") else { return nil }
            result.append(operand)
        }
        return result
    }

    /// A scalar compared with a field: a plain `true`/`false` is a boolean, a plain number a number, anything else
    /// (quoted, or text) a string: `"15"` is the string, `15` the number.
    private mutating func operand(_ node: Node, path: String) -> EventFilter.Operand? {
        guard case .scalar(let scalar) = node else {
            error(path, node.mark?.line, "expected a value to compare with, found \(Self.kind(node))")
            return nil
        }
        if MappingFields.isNull(node) {
            error(path, node.mark?.line, "a missing value matches nothing; write {exists: false} for a field that must be absent")
            return nil
        }
        guard let text = string(node, path: path) else { return nil }
        guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
        if text == "true" || text == "false" { return .bool(text == "true") }
        if let number = Double(text), text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true, number.isFinite {
            return .number(number, text: text)
        }
        return .string(text)
    }

    /// `redact`: a non-empty list of field paths removed from what the destination receives.
    mutating func decodeRedaction(_ node: Node, path: String) -> [FieldPath] {
        guard let list = stringList(node, path: path, example: "[data.recipient, data.raw]") else { return [] }
        var paths: [FieldPath] = []
        for (index, (text, item)) in list.enumerated() {
            if let problem = FieldPath.problem(text) {
                error("\(path)[\(index)]", item.mark?.line, "the path \(problem)")
            } else if FieldPath(text)!.segments.count == 1 {
                error("\(path)[\(index)]", item.mark?.line, "\(Self.quoted(text)) is a member every canonical event needs; redact fields inside data")
            } else {
                paths.append(FieldPath(text)!)
            }
        }
        return paths
    }
}
