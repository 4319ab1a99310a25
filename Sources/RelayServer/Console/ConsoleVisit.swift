import Hummingbird

/// Who is looking at a console page: the CSRF token their forms carry, whether there is a session to sign out of, and
/// the signed cookie to set when this request minted one.
struct ConsoleVisit: Sendable {
    var csrf: String
    /// Signed in with the admin token (with no token configured nobody signs in, or out).
    var canSignOut: Bool
    var cookie: Cookie?
}
