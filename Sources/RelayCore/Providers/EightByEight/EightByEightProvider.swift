import Foundation

/// 8x8 (Messaging Apps and SMS) webhooks: a static `Authorization` header, one event per request.
public struct EightByEightProvider: WebhookProvider {
    public init() {}

    public var kind: ProviderKind { .eightByEight }
    public var credentialHeader: String { "authorization" }

    public func verify(credential: String?, body: [UInt8], source: SourceConfig) -> Bool {
        guard let auth = source.auth else { return false }
        let expectedScheme: String
        let expectedValue: String
        switch auth {
        case .none:
            return true
        case .basic(let username, let password):
            expectedScheme = "basic"
            expectedValue = Data("\(username):\(password)".utf8).base64EncodedString()
        case .bearer(let token):
            expectedScheme = "bearer"
            expectedValue = token
        }
        guard let credential else { return false }
        // The scheme is case-insensitive (RFC 9110); the credential itself is compared in constant time.
        let parts = credential.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == expectedScheme else { return false }
        let presented = parts[1].trimmingCharacters(in: .whitespaces)
        return ConstantTime.equals(Array(presented.utf8), Array(expectedValue.utf8))
    }

    public func events(from body: [UInt8], sourceID: String, receivedAtMilliseconds: Int64) throws(PayloadError) -> [IncomingEvent] {
        let json = try parseJSON(body)
        return [try EightByEightEventNormalizer.normalize(json, body: body, sourceID: sourceID, receivedAtMilliseconds: receivedAtMilliseconds)]
    }
}
