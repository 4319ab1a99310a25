/// A dot path into the canonical event (`subject`, `data.status`, `data.raw.payload.subAccountId`), as route filters
/// and redaction name fields (SPEC section 16). A segment of digits inside an array picks that element
/// (`data.raw.events.0.type`); everywhere else a segment is a member name.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public let segments: [String]

    /// The canonical event's own members: a path starts with one of them.
    public static let roots = ["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"]

    /// Parses `text`; nil when it is empty, has an empty segment or starts outside the canonical event (see `problem`).
    public init?(_ text: String) {
        guard Self.problem(text) == nil else { return nil }
        segments = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// Why `text` is not a path, in words that end "the path ..."; nil when it is one.
    public static func problem(_ text: String) -> String? {
        if text.isEmpty { return "is empty" }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.contains(where: \.isEmpty) { return "has an empty segment (write names joined by single dots, e.g. data.status)" }
        let root = String(parts[0])
        if !roots.contains(root) {
            // A typo of a root, or (most often) a member of `data` written without it: `status` for `data.status`.
            let hint = KeySuggestion.closest(to: root, in: roots).map { $0 + text.dropFirst(root.count) } ?? "data.\(text)"
            return "must start with one of \(roots.joined(separator: ", ")) (did you mean \(hint)?)"
        }
        return nil
    }

    public var description: String { segments.joined(separator: ".") }

    /// The value at the path below `value`, starting at `segments[from]`; nil when any step is missing.
    static func descend(_ value: JSONValue, _ segments: ArraySlice<String>) -> JSONValue? {
        var current = value
        for segment in segments {
            switch current {
            case .object(let object):
                guard let next = object[segment] else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(segment), segment.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The value at this path in a serialized canonical event (parsed: for events without their fields at hand).
    public func value(in event: JSONValue) -> JSONValue? { Self.descend(event, segments[...]) }

    /// The value at this path in `event`, read from its fields without serializing or parsing anything.
    /// `data.progress` is not there: the store writes it in (route `advancing_only` on it instead).
    public func value(in event: CanonicalEvent) -> JSONValue? {
        let rest = segments.dropFirst()
        let top: JSONValue?
        switch segments[0] {
        case "specversion": top = .string("1.0")
        case "id": top = .string(event.id)
        case "source": top = .string(event.source)
        case "type": top = .string(event.type)
        case "time": top = .string(Timestamp.format(epochMilliseconds: event.timeMilliseconds))
        case "subject": top = event.subject.map(JSONValue.string)
        case "datacontenttype": top = .string("application/json")
        case "data":
            guard let member = rest.first else { return event.json["data"] }
            switch member {
            case "raw": return Self.descend(event.raw, rest.dropFirst())
            case "received_at": return rest.count == 1 ? .string(Timestamp.format(epochMilliseconds: event.receivedAtMilliseconds)) : nil
            default:
                guard let value = event.data[member] else { return nil }
                return Self.descend(value, rest.dropFirst())
            }
        default: top = nil
        }
        guard let top else { return nil }
        return Self.descend(top, rest)
    }

    /// Removes the field at this path from `value` (the path's leaf: its member, or its element of an array); nothing
    /// when it is not there.
    public func remove(from value: inout JSONValue) { Self.remove(segments[...], from: &value) }

    static func remove(_ segments: ArraySlice<String>, from value: inout JSONValue) {
        guard let first = segments.first else { return }
        switch value {
        case .object(var object):
            if segments.count == 1 {
                object.members.removeAll { $0.key == first }
            } else if let index = object.members.firstIndex(where: { $0.key == first }) {
                remove(segments.dropFirst(), from: &object.members[index].value)
            } else {
                return
            }
            value = .object(object)
        case .array(var items):
            guard let index = Int(first), items.indices.contains(index) else { return }
            if segments.count == 1 { items.remove(at: index) } else { remove(segments.dropFirst(), from: &items[index]) }
            value = .array(items)
        default:
            return
        }
    }
}

/// What a destination with `redact` receives (SPEC section 16): the stored canonical event with those fields removed,
/// read back and written again (member order and number literals kept); the normalizer is not run again.
public enum Redaction {
    /// `canonical` without `paths`; nil when the stored bytes cannot be read back (then nothing is sent).
    public static func apply(_ paths: [FieldPath], to canonical: [UInt8]) -> [UInt8]? {
        guard !paths.isEmpty else { return canonical }
        guard var event = try? JSONParser.parse(canonical) else { return nil }
        for path in paths { path.remove(from: &event) }
        return JSONWriter.serialize(event)
    }
}
