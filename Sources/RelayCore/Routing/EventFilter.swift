/// A route's `where` (SPEC section 16), compiled once per configuration: every condition must hold.
///
/// A condition's value is a scalar (equal), a list (equal to any), or one of `{exists: true|false}`,
/// `{prefix: "..."}`, `{not: <value or list>}`. Numbers compare as numbers and strings as strings: `15` never equals
/// `"15"`. A missing field (or a JSON null, which relay writes as a missing field) equals nothing, so it fails every
/// test but `exists: false` and `not`. Objects and arrays equal nothing.
public struct EventFilter: Sendable, CustomStringConvertible {
    /// A value a condition compares with.
    public enum Operand: Sendable, Equatable, CustomStringConvertible {
        case string(String)
        /// The number and its text as written (for messages).
        case number(Double, text: String)
        case bool(Bool)

        public var description: String {
            switch self {
            case .string(let text): return "\"\(text)\""
            case .number(_, let text): return text
            case .bool(let value): return String(value)
            }
        }

        /// Whether `value` is this operand: the same kind and the same value.
        func equals(_ value: JSONValue) -> Bool {
            switch (self, value) {
            case (.string(let a), .string(let b)): return a == b
            case (.number(let a, _), .number(let literal)): return Double(literal) == a
            case (.bool(let a), .bool(let b)): return a == b
            default: return false
            }
        }
    }

    public enum Test: Sendable, Equatable {
        /// Equal to one of these (one for a scalar).
        case anyOf([Operand])
        case exists(Bool)
        case prefix(String)
        /// Missing, or equal to none of these.
        case not([Operand])
    }

    public struct Condition: Sendable, CustomStringConvertible {
        public var path: FieldPath
        public var test: Test

        public init(path: FieldPath, test: Test) {
            self.path = path
            self.test = test
        }

        /// Whether the field's value (nil: missing) passes.
        func holds(_ value: JSONValue?) -> Bool {
            let present = value.flatMap { $0 == .null ? nil : $0 }
            switch test {
            case .anyOf(let operands): return present.map { value in operands.contains { $0.equals(value) } } ?? false
            case .exists(let wanted): return (present != nil) == wanted
            case .prefix(let start): return present?.stringValue?.hasPrefix(start) ?? false
            case .not(let operands): return present.map { value in !operands.contains { $0.equals(value) } } ?? true
            }
        }

        public var description: String {
            let list = { (operands: [Operand]) in operands.count == 1 ? operands[0].description : "[" + operands.map(\.description).joined(separator: ", ") + "]" }
            switch test {
            case .anyOf(let operands): return "\(path) = \(list(operands))"
            case .exists(let wanted): return "\(path) \(wanted ? "exists" : "missing")"
            case .prefix(let start): return "\(path) starts with \"\(start)\""
            case .not(let operands): return "\(path) != \(list(operands))"
            }
        }
    }

    public var conditions: [Condition]

    public init(_ conditions: [Condition]) { self.conditions = conditions }

    /// Whether `event` (its fields, as the normalizer made them) passes every condition.
    public func matches(_ event: CanonicalEvent) -> Bool {
        conditions.allSatisfy { $0.holds($0.path.value(in: event)) }
    }

    /// The same for a serialized canonical event, parsed.
    public func matches(_ event: JSONValue) -> Bool {
        conditions.allSatisfy { $0.holds($0.path.value(in: event)) }
    }

    /// `a = x and b exists`: the conditions in one line.
    public var description: String { conditions.map(\.description).joined(separator: " and ") }
}
