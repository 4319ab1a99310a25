import Crypto
import Foundation

/// Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`.
public enum StandardWebhooks {
    /// The key inside a `whsec_<base64>` secret, or nil when the secret is not of that form.
    public static func key(fromSecret secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))), !data.isEmpty else { return nil }
        return Array(data)
    }

    /// The `v1,<base64>` signature of `body` sent as message `id` at `timestamp` (unix seconds).
    public static func signature(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> String {
        signature(key: KeyedHMAC(key: key), id: id, timestamp: timestamp, body: body)
    }

    /// The same with the key already keyed.
    public static func signature(key: KeyedHMAC, id: String, timestamp: Int64, body: [UInt8]) -> String {
        "v1," + Data(key.code(prefix: Array("\(id).\(timestamp).".utf8), body)).base64EncodedString()
    }

    /// Whether any `v1` signature in a (space-separated) `webhook-signature` header verifies, in constant time.
    public static func verify(key: [UInt8], id: String, timestamp: Int64, body: [UInt8], header: String) -> Bool {
        var message = Array("\(id).\(timestamp).".utf8)
        message.append(contentsOf: body)
        let symmetricKey = SymmetricKey(data: key)
        var valid = false
        for candidate in header.split(separator: " ") where candidate.hasPrefix("v1,") {
            if let mac = Data(base64Encoded: String(candidate.dropFirst(3))),
               HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: symmetricKey) {
                valid = true
            }
        }
        return valid
    }
}
