import Foundation
import RelayCore
import RelayStore

/// The body of `POST /admin/dead-letters/replay`: `{"all": true}` or `{"ids": [...]}`, optionally `"destination"`.
///
/// Strict, because a lenient reading replays too much: a misspelt or mistyped key that is ignored turns
/// `{"all": true, "destination": 1}` into "replay every destination".
public struct ReplayRequest: Decodable, Sendable, Equatable {
    /// The dead letters to replay; nil for all of them.
    public var ids: [Int64]?
    /// Only this destination's dead letters.
    public var destination: String?
    /// With `all`: only those that failed at or after `since` and before `until`, of a canonical type matching `type`.
    public var sinceMilliseconds: Int64?
    public var untilMilliseconds: Int64?
    public var type: String?

    public init(ids: [Int64]?, destination: String?, sinceMilliseconds: Int64? = nil, untilMilliseconds: Int64? = nil, type: String? = nil) {
        self.ids = ids
        self.destination = destination
        self.sinceMilliseconds = sinceMilliseconds
        self.untilMilliseconds = untilMilliseconds
        self.type = type
    }

    /// Whether it narrows `all` beyond a destination.
    public var isFiltered: Bool { sinceMilliseconds != nil || untilMilliseconds != nil || type != nil }

    static let keys = ["all", "ids", "destination", "since", "until", "type"]
    static let usage = #"the body is {"all": true} (optionally with "since", "until", "type") or {"ids": [...]}, optionally with "destination""#

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !Self.keys.contains($0) }) {
            throw APIError.invalidRequest("unknown key \"\(unknown.prefix(64))\"; \(Self.usage)")  // echo bounded
        }
        let all = try Self.value(Bool.self, "all", in: container, "true")
        let ids = try Self.value([Int64].self, "ids", in: container, "a list of dead-letter ids (integers)")
        destination = try Self.value(String.self, "destination", in: container, "a destination id (a string)")
        sinceMilliseconds = try Self.time("since", in: container)
        untilMilliseconds = try Self.time("until", in: container)
        type = try Self.value(String.self, "type", in: container, "a canonical type or glob such as \"delivery.*\" (a string)")
        if isFiltered && ids != nil { throw APIError.invalidRequest("\"since\", \"until\" and \"type\" narrow \"all\", not \"ids\"") }
        switch (all, ids) {
        case (true?, nil): self.ids = nil
        case (nil, let ids?) where !ids.isEmpty: self.ids = ids
        case (nil, _?): throw APIError.invalidRequest("\"ids\" must be a non-empty list of dead-letter ids")
        case (false?, _): throw APIError.invalidRequest("\"all\" can only be true; \(Self.usage)")
        case (_?, _?): throw APIError.invalidRequest("give either \"all\" or \"ids\", not both")
        case (nil, nil): throw APIError.invalidRequest(Self.usage)
        }
    }

    /// An RFC 3339 time at `key`, as milliseconds.
    private static func time(_ key: String, in container: KeyedDecodingContainer<Key>) throws -> Int64? {
        guard let text = try value(String.self, key, in: container, "an RFC 3339 time such as 2026-12-01T09:00:00Z") else { return nil }
        guard let at = Timestamp.parse(text) else { throw APIError.invalidRequest("\"\(key)\" must be an RFC 3339 time such as 2026-12-01T09:00:00Z") }
        return at
    }

    /// Moves the dead letters this request names back to pending; returns how many. A filtered one reads and replays
    /// `pageSize` dead letters at a time.
    public func apply(to store: any Store, nowMilliseconds now: Int64, pageSize: Int = 10_000) async throws(StoreError) -> Int {
        guard isFiltered, ids == nil else { return try await store.replay(ids: ids, destination: destination, nowMilliseconds: now) }
        // Filtered: the matching ones, a page at a time. The store matches the type before its limit, and replayed ones
        // leave the dead letters, so each page holds only ones not seen yet, and a short page is the last.
        var moved = 0
        while true {
            let page = try await store.deadLetters(destination: destination, sinceMilliseconds: sinceMilliseconds,
                                                   untilMilliseconds: untilMilliseconds, type: type, limit: pageSize)
            guard !page.isEmpty else { return moved }
            let count = try await store.replay(ids: page.map(\.id), destination: destination, nowMilliseconds: now)
            moved += count
            // None of a full page moved: another replay took them meanwhile, and the next read would see the same.
            if page.count < pageSize || count == 0 { return moved }
        }
    }

    /// The value at `key` if present; a 400 naming the key and what it must be when it has another type.
    private static func value<T: Decodable>(_ type: T.Type, _ key: String, in container: KeyedDecodingContainer<Key>, _ expected: String) throws -> T? {
        do {
            return try container.decodeIfPresent(type, forKey: Key(stringValue: key))
        } catch {
            // A wrong type, or a number that is not an integer (which JSONDecoder reports as corrupt data).
            throw APIError.invalidRequest("\"\(key)\" must be \(expected)")
        }
    }

    /// Parses `body`, answering 400 with a message that says what is wrong: also for a key given twice or a null.
    static func parse(_ body: [UInt8]) throws(APIError) -> ReplayRequest {
        _ = try StrictJSONObject.parse(body, usage: usage)
        do {
            return try JSONDecoder().decode(ReplayRequest.self, from: Data(body))
        } catch let error as APIError {
            throw error
        } catch {
            throw .invalidRequest("the body must be a JSON object: \(usage)")
        }
    }
}
