import Foundation

/// An 8x8 source's `auth`, with the expected `Authorization` value encoded once rather than per request.
public struct EightByEightSourceSettings: ProviderSourceSettings {
    /// How requests are authenticated.
    public let auth: EightByEightAuth
    /// Lower-case scheme and credential expected, as UTF-8; nil for `none`.
    private let expected: (scheme: String, value: [UInt8])?

    /// Creates the settings.
    public init(auth: EightByEightAuth) {
        self.auth = auth
        switch auth {
        case .none: expected = nil
        case .basic(let username, let password):
            expected = ("basic", Array(Data("\(username):\(password)".utf8).base64EncodedString().utf8))
        case .bearer(let token): expected = ("bearer", Array(token.utf8))
        }
    }

    /// 8x8's credential is a static header: it is checked whole before the body is read.
    public func mayVerify(credential: String?) -> Bool { verify(credential: credential, body: []) }

    public func verify(credential: String?, body: [UInt8]) -> Bool {
        guard let expected else { return true }
        guard let credential else { return false }
        // The scheme is case-insensitive (RFC 9110); the credential itself is compared in constant time.
        let parts = credential.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == expected.scheme else { return false }
        let presented = parts[1].trimmingCharacters(in: .whitespaces)
        return ConstantTime.equals(Array(presented.utf8), expected.value)
    }

    public func credential(for body: [UInt8]) -> String? {
        switch auth {
        case .none: return nil
        case .basic(let username, let password): return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        case .bearer(let token): return "Bearer \(token)"
        }
    }

    public var authenticationSummary: String { auth.description }
}
