import Crypto
import Foundation

/// A LINE source's channel secrets (several during rotation), keyed for HMAC once rather than per request.
public struct LINESourceSettings: ProviderSourceSettings {
    /// Channel secrets accepted for signature checks.
    public var channelSecrets: [String] { didSet { keys = channelSecrets.map { KeyedHMAC(key: Array($0.utf8)) } } }
    /// `channelSecrets`, keyed.
    public private(set) var keys: [KeyedHMAC]

    /// Creates the settings.
    public init(channelSecrets: [String]) {
        self.channelSecrets = channelSecrets
        self.keys = channelSecrets.map { KeyedHMAC(key: Array($0.utf8)) }
    }

    /// A signature can only verify if it is there and is the base64 of 32 bytes; its value needs the body.
    public func mayVerify(credential: String?) -> Bool {
        guard let credential, let signature = Data(base64Encoded: credential) else { return false }
        return signature.count == SHA256.byteCount
    }

    public func verify(credential: String?, body: [UInt8]) -> Bool {
        guard let credential, let signature = Data(base64Encoded: credential), signature.count == SHA256.byteCount else {
            return false
        }
        var valid = false
        // Every secret is tried (no early exit) so timing does not reveal which one matched.
        for key in keys where key.isValid(signature, for: body) { valid = true }
        return valid
    }

    /// Signed with the first secret.
    public func credential(for body: [UInt8]) -> String? {
        LINEProvider.signature(body: body, channelSecret: channelSecrets.first ?? "")
    }

    public var authenticationSummary: String {
        let count = channelSecrets.count
        return count == 1 ? "LINE signature (1 channel secret)" : "LINE signature (\(count) channel secrets)"
    }
}
