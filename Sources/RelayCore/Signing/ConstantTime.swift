import Crypto
import Foundation

/// Constant-time equality for credentials of any length.
public enum ConstantTime {
    // Comparing MACs under a per-process random key hides both the content and the length of the secret.
    private static let keyBytes: [UInt8] = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }

    /// Whether `presented` equals `expected`, in time independent of where they differ.
    public static func equals(_ presented: [UInt8], _ expected: [UInt8]) -> Bool {
        let key = SymmetricKey(data: keyBytes)
        let mac = HMAC<SHA256>.authenticationCode(for: presented, using: key)
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: expected, using: key)
    }
}
