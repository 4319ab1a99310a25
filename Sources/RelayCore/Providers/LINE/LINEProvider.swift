import Crypto
import Foundation

/// LINE Messaging API webhooks: `X-Line-Signature` over the raw body, many events per request.
public struct LINEProvider: WebhookProvider {
    public init() {}

    public var kind: ProviderKind { .line }
    public var credentialHeader: String { "x-line-signature" }

    public func verify(credential: String?, body: [UInt8], source: SourceConfig) -> Bool {
        guard let credential, let signature = Data(base64Encoded: credential), signature.count == SHA256.byteCount else {
            return false
        }
        var valid = false
        // Every secret is tried (no early exit) so timing does not reveal which one matched.
        for key in source.lineKeys where key.isValid(signature, for: body) { valid = true }
        return valid
    }

    /// `base64(HMAC-SHA256(secret, body))`, the value of `X-Line-Signature`.
    public static func signature(body: some DataProtocol, channelSecret: String) -> String {
        signature(body: body, key: KeyedHMAC(key: Array(channelSecret.utf8)))
    }

    /// The same with the secret already keyed.
    public static func signature(body: some DataProtocol, key: KeyedHMAC) -> String {
        Data(key.code(body)).base64EncodedString()
    }

    public func events(from body: [UInt8], sourceID: String, receivedAtMilliseconds: Int64) throws(PayloadError) -> [IncomingEvent] {
        let json = try parseJSON(body)
        guard let root = json.objectValue else { throw PayloadError("LINE body must be a JSON object") }
        guard let events = root["events"]?.arrayValue else { throw PayloadError("LINE body has no \"events\" array") }
        var destination: String?
        switch root["destination"] {
        case nil, .null?: break
        case .string(let text)?: destination = text.isEmpty ? nil : text  // absent in older bodies and some SDK samples
        default: throw PayloadError("LINE \"destination\" must be a string")
        }
        var result: [IncomingEvent] = []
        result.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            do {
                result.append(try LINEEventNormalizer.normalize(
                    event, destination: destination, sourceID: sourceID, receivedAtMilliseconds: receivedAtMilliseconds))
            } catch {
                throw PayloadError("events[\(index)]: \(error.message)")
            }
        }
        return result
    }
}
