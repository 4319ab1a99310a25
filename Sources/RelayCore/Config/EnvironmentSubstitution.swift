/// Expands `${VAR}` and `${VAR:-default}` inside one scalar value.
///
/// Runs after YAML parsing, on values only, so secrets containing `:` or `#` never reach the YAML parser.
/// Defaults are literal text (no nested references); the first `}` ends a reference.
struct EnvironmentSubstitution {
    /// A reference that could not be expanded.
    enum Failure: Equatable {
        /// `${VAR}` with VAR unset and no default.
        case unset(String)
        /// `${` without a closing `}`, or a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
        case malformed
    }

    /// The expanded text.
    var value: String
    /// Variables whose (non-empty) `:-default` was used because they were unset or empty.
    var defaultedVariables: [String]
    /// Problems, in order of appearance.
    var failures: [Failure]

    /// Expands every reference in `text` using `environment`.
    init(_ text: String, environment: [String: String]) {
        value = ""
        defaultedVariables = []
        failures = []
        var rest = Substring(text)
        while let dollar = rest.range(of: "${") {
            value += rest[..<dollar.lowerBound]
            let afterOpen = rest[dollar.upperBound...]
            guard let close = afterOpen.firstIndex(of: "}") else {
                failures.append(.malformed)
                value += rest[dollar.lowerBound...]
                return
            }
            expand(afterOpen[..<close], environment: environment)
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        value += rest
    }

    private mutating func expand(_ reference: Substring, environment: [String: String]) {
        let name: Substring
        let fallback: Substring?
        if let separator = reference.range(of: ":-") {
            name = reference[..<separator.lowerBound]
            fallback = reference[separator.upperBound...]
        } else {
            name = reference
            fallback = nil
        }
        guard Self.isValidName(name) else {
            failures.append(.malformed)
            return
        }
        let current = environment[String(name)]
        if let fallback {
            // Shell semantics: `:-` also applies when the variable is set but empty.
            if let current, !current.isEmpty {
                value += current
            } else {
                value += fallback
                if !fallback.isEmpty { defaultedVariables.append(String(name)) }
            }
        } else if let current {
            value += current
        } else {
            failures.append(.unset(String(name)))
        }
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}
