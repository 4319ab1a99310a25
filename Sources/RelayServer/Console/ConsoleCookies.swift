import Foundation
import Hummingbird
import RelayCore

/// The console's keyed proofs, under a key made at start (so they end with the process, as sessions do):
///
/// - the sign-in form's CSRF token, carried on a signed cookie rather than a stored session, so serving the sign-in
///   form (or, with no token configured, any page) stores nothing;
/// - the tag binding a session to the admin token it was signed in with: a reload that changes the token changes the
///   tag, and every session signed in with the old one ends at its next request.
struct ConsoleCookies: Sendable {
    /// The signed cookie's name; the session's is `relay_console`.
    static let name = "relay_console_csrf"
    /// How long a sign-in form stays usable.
    static let lifetime: Duration = .seconds(3600)
    private let mac: KeyedHMAC

    init(key: [UInt8] = (0..<32).map { _ in UInt8.random(in: .min ... .max) }) {
        mac = KeyedHMAC(key: key)
    }

    /// A fresh random token (128 bits, base 36), for CSRF tokens.
    static func randomToken() -> String {
        (0..<2).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined(separator: "x")
    }

    /// The tag of admin token `token` in this process.
    func tag(ofToken token: String) -> String { Self.hex(mac.code(prefix: Array("token\u{0}".utf8), Array(token.utf8))) }

    /// Whether `tag` is the current token's tag, compared in constant time.
    func matches(_ tag: String, token: String) -> Bool { ConstantTime.equals(Array(tag.utf8), Array(self.tag(ofToken: token).utf8)) }

    /// A new signed cookie; its CSRF token is what the page's forms carry.
    func issue(now: Date = Date()) -> (cookie: Cookie, csrf: String) {
        let csrf = Self.randomToken()
        let expires = Int64(now.timeIntervalSince1970) + Self.lifetime.components.seconds
        let value = "\(csrf).\(expires).\(signature(csrf, expires))"
        return (Cookie(name: Self.name, value: value, maxAge: Int(Self.lifetime.components.seconds), path: "/", httpOnly: true, sameSite: .strict), csrf)
    }

    /// The CSRF token of the request's signed cookie when it is this process's, unaltered and not expired.
    func csrf(of request: Request, now: Date = Date()) -> String? {
        guard let value = request.cookies[Self.name]?.value else { return nil }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expires = Int64(parts[1]), expires > Int64(now.timeIntervalSince1970) else { return nil }
        let csrf = String(parts[0])
        guard ConstantTime.equals(Array(parts[2].utf8), Array(signature(csrf, expires).utf8)) else { return nil }
        return csrf
    }

    /// A cookie that removes the signed one (after sign-in it has served its turn).
    static var removal: Cookie { Cookie(name: name, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict) }

    private func signature(_ csrf: String, _ expires: Int64) -> String {
        Self.hex(mac.code(prefix: Array("csrf\u{0}".utf8), Array("\(csrf).\(expires)".utf8)))
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
    }
}
