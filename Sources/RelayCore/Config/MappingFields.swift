import Yams

/// The recognised keys of one YAML mapping, in file order, with locations for error reporting.
struct MappingFields {
    /// One `key: value` pair.
    struct Entry {
        var key: String
        var keyLine: Int?
        var value: Node
    }

    /// Key path of the mapping itself (empty for the document root).
    var path: String
    /// Line to blame for a missing key: the line of the key that introduced this mapping.
    var line: Int?
    /// Entries whose keys are allowed; unknown keys were already reported.
    var entries: [Entry]

    /// The value of `key`, or nil when absent or explicitly null (`key:` or `key: ~`), which mean the same here.
    func value(_ key: String) -> Node? {
        guard let entry = entries.first(where: { $0.key == key }), !Self.isNull(entry.value) else { return nil }
        return entry.value
    }

    /// Line of `key` itself, for errors about a whole section.
    func keyLine(_ key: String) -> Int? {
        entries.first { $0.key == key }?.keyLine
    }

    /// Whether `key` is present with a non-null value.
    func has(_ key: String) -> Bool {
        value(key) != nil
    }

    /// The key path of a child key.
    func path(_ key: String) -> String {
        Self.join(path, key)
    }

    /// `parent.key`, or just `key` at the root.
    static func join(_ parent: String, _ key: String) -> String {
        parent.isEmpty ? key : "\(parent).\(key)"
    }

    /// A plain null scalar; quoted `"~"` or `"null"` are strings and do not count.
    static func isNull(_ node: Node) -> Bool {
        guard case .scalar = node else { return false }
        return node.null != nil
    }
}
