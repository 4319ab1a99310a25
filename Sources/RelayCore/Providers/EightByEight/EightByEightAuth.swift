/// How an 8x8 source authenticates requests: 8x8 sends a static `Authorization` header that was registered with it.
public enum EightByEightAuth: Sendable, Equatable, CustomStringConvertible {
    /// `Authorization: Basic base64(username:password)`.
    case basic(username: String, password: String)
    /// `Authorization: Bearer <token>`.
    case bearer(String)
    /// No authentication (explicitly chosen; `relay check` warns).
    case none

    /// Names the method without ever showing the password or token.
    public var description: String {
        switch self {
        case .basic(let username, _): return "basic auth (user \(username))"
        case .bearer: return "bearer token"
        case .none: return "no authentication"
        }
    }
}
