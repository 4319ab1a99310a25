import Crypto
import Foundation

/// HMAC-SHA256 with its key already absorbed: each use copies the keyed state instead of padding the key and
/// hashing both key blocks again (two SHA-256 compressions and several allocations per request saved).
///
/// The wrapped `HMAC` is a value whose hash contexts are copied on write; this instance is never mutated after
/// init, so sharing it between threads is safe.
public struct KeyedHMAC: @unchecked Sendable {
    private let keyed: HMAC<SHA256>

    public init(key: some ContiguousBytes) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: key))
    }

    /// The MAC of `body`.
    public func code(_ body: some DataProtocol) -> HashedAuthenticationCode<SHA256> {
        var hmac = keyed
        hmac.update(data: body)
        return hmac.finalize()
    }

    /// The MAC of `prefix` followed by `body`, without joining them first.
    public func code(prefix: some DataProtocol, _ body: some DataProtocol) -> HashedAuthenticationCode<SHA256> {
        var hmac = keyed
        hmac.update(data: prefix)
        hmac.update(data: body)
        return hmac.finalize()
    }

    /// Whether `mac` is the MAC of `body`, compared in constant time.
    public func isValid(_ mac: some DataProtocol, for body: some DataProtocol) -> Bool {
        code(body) == mac  // HashedAuthenticationCode's comparison with bytes is constant-time (safeCompare)
    }
}
