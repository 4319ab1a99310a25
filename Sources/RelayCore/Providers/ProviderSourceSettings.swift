/// A provider's settings for one source, decoded by the provider and prepared once at config time
/// (keys already set up for HMAC, expected header values already encoded), so a request only compares.
public protocol ProviderSourceSettings: Sendable, CustomStringConvertible {
    /// Whether `credential` (the provider's credential header, if sent) authenticates `body`, in constant time.
    func verify(credential: String?, body: [UInt8]) -> Bool
    /// Whether any body could verify with `credential`: checked before the body is read, so a request that can never
    /// authenticate holds no memory while it trickles in. Constant time where it compares a secret.
    func mayVerify(credential: String?) -> Bool
    /// The credential header value a correct sender would present for `body` (`relay simulate`); nil when none is needed.
    func credential(for body: [UInt8]) -> String?
    /// How requests are authenticated, in words and without any secret (`relay check`).
    var authenticationSummary: String { get }
}

extension ProviderSourceSettings {
    /// The summary: settings hold secrets, so printing them must not fall back to showing every field.
    public var description: String { authenticationSummary }
}
