import Foundation

/// The body of `POST /admin/dead-letters/replay`: `{"all": true}` or `{"ids": [...]}`, optionally `"destination"`.
///
/// Strict, because a lenient reading replays too much: a misspelt or mistyped key that is ignored turns
/// `{"all": true, "destination": 1}` into "replay every destination".
public struct ReplayRequest: Decodable, Sendable, Equatable {
    /// The dead letters to replay; nil for all of them.
    public var ids: [Int64]?
    /// Only this destination's dead letters.
    public var destination: String?

    static let keys = ["all", "ids", "destination"]
    static let usage = #"the body is {"all": true} or {"ids": [...]}, optionally with "destination""#

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
        switch (all, ids) {
        case (true?, nil): self.ids = nil
        case (nil, let ids?) where !ids.isEmpty: self.ids = ids
        case (nil, _?): throw APIError.invalidRequest("\"ids\" must be a non-empty list of dead-letter ids")
        case (false?, _): throw APIError.invalidRequest("\"all\" can only be true; \(Self.usage)")
        case (_?, _?): throw APIError.invalidRequest("give either \"all\" or \"ids\", not both")
        case (nil, nil): throw APIError.invalidRequest(Self.usage)
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

    /// Parses `body`, answering 400 with a message that says what is wrong.
    static func parse(_ body: [UInt8]) throws(APIError) -> ReplayRequest {
        do {
            return try JSONDecoder().decode(ReplayRequest.self, from: Data(body))
        } catch let error as APIError {
            throw error
        } catch {
            throw .invalidRequest("the body must be a JSON object: \(usage)")
        }
    }
}
