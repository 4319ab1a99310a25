import Crypto
import Foundation

extension ProviderKind {
    /// LINE Messaging API (HMAC-SHA256 `X-Line-Signature` with the channel secret).
    public static let line = ProviderKind(rawValue: "line")
}

/// LINE Messaging API webhooks: `X-Line-Signature` over the raw body, many events per request.
public struct LINEProvider: WebhookProvider {
    public init() {}

    public var kind: ProviderKind { .line }

    /// A delivery completion is LINE's only receipt: it ranks as a delivered message does (SPEC section 10).
    static let deliveredRank = 4

    public func statusRank(status: String, detail: String?) -> Int? { status == "delivered" ? Self.deliveredRank : nil }

    /// LINE notification messages: the API answers 200 before it knows whether the message reaches the user.
    public var acceptsExpectations: Bool { true }

    /// A delivery completion is one receipt per message, of interest when the backend expects it: the ledger is kept
    /// on sources with `expect_receipt`, not on every LINE source (it would double the keyed writes of every event).
    public var ledgerOnEverySource: Bool { false }

    /// What LINE documents a missing delivery completion event to mean (provider-docs, "Additional information").
    public func overdueReason(within: Duration) -> String? {
        "no delivery completion event within \(DurationText.format(within)): blocked, no consent or no SMS authentication"
    }
    public var displayName: String { "LINE" }
    public var credentialHeader: String { "x-line-signature" }

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
        case .string(let text)?:  // absent in older bodies and some SDK samples
            destination = text.isEmpty ? nil : try ProviderValue.checked(text, field: "LINE \"destination\"")
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

    /// `{"destination": ..., "events": [event]}`: what a LINE SDK backend expects, one event per request.
    public func passthroughBody(event eventBytes: [UInt8], account destination: String?) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: eventBytes.count + 64)
        var prefix = JSONObject()
        prefix.append("destination", destination.map(JSONValue.string))
        writer.write(.object(prefix))
        var bytes = writer.bytes
        bytes.removeLast()  // reopen the object to add "events" with the pre-serialized event
        if destination != nil { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: Array("\"events\":[".utf8))
        bytes.append(contentsOf: eventBytes)
        bytes.append(contentsOf: Array("]}".utf8))
        return bytes
    }

    /// Re-signed with the receiving bot's channel secret, so an unchanged LINE SDK backend accepts the body.
    public func passthroughHeaders(
        body: [UInt8], destination: DestinationConfig
    ) throws(PassthroughSigningError) -> [(name: String, value: String)] {
        guard let settings = destination.providerSettings(for: kind) else {
            throw PassthroughSigningError("destination \(destination.id) has no line_channel_secret to sign LINE events")
        }
        return settings.passthroughHeaders(for: body)
    }

    public var passthroughHeaderNames: [String] { ["x-line-signature"] }

    public var sampleNames: [String] { LINESamples.names }
    public func sampleBody(_ name: String) -> [UInt8]? { LINESamples.body(name).map { Array($0.utf8) } }

    public var sinkCheck: SinkCheck? {
        SinkCheck(option: "line-secret", help: "A LINE channel secret: checks X-Line-Signature of passthrough LINE events.",
                  header: "X-Line-Signature", label: "LINE signature") { signature, body, secret in
            LINESourceSettings(channelSecrets: [secret]).verify(credential: signature, body: body)
        }
    }
}
