import RelayCore
import RelayStore

/// One dead letter in `GET /admin/dead-letters` and `relay dlq list --json`.
public struct DeadLetterBody: Codable, Sendable, Equatable {
    public var id: Int64
    public var destination: String
    public var eventID: String
    public var sourceID: String
    public var type: String
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var lastResponse: String?
    /// RFC 3339 UTC, milliseconds.
    public var receivedAt: String
    /// RFC 3339 UTC, milliseconds.
    public var failedAt: String

    enum CodingKeys: String, CodingKey {
        case id, destination, eventID = "event_id", sourceID = "source_id", type, attempts, lastStatus = "last_status"
        case lastError = "last_error", lastResponse = "last_response", receivedAt = "received_at", failedAt = "failed_at"
    }

    /// The body for `letter`.
    public init(_ letter: DeadLetter) {
        id = letter.id
        destination = letter.destination
        eventID = letter.eventID
        sourceID = letter.sourceID
        type = letter.type
        attempts = letter.attempts
        lastStatus = letter.lastStatus
        lastError = letter.lastError
        lastResponse = letter.lastResponse
        receivedAt = Timestamp.format(epochMilliseconds: letter.receivedAtMilliseconds)
        failedAt = Timestamp.format(epochMilliseconds: letter.failedAtMilliseconds)
    }

    // Written by hand so absent values are `null`, as before, rather than missing keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(destination, forKey: .destination)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(sourceID, forKey: .sourceID)
        try container.encode(type, forKey: .type)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(lastStatus, forKey: .lastStatus)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(lastResponse, forKey: .lastResponse)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encode(failedAt, forKey: .failedAt)
    }
}
