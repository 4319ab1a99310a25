import Hummingbird
import Logging
import RelayCore

/// Requires `Authorization: Bearer <admin.token>` when a token is configured, compared in constant time. A wrong
/// token is logged (the client's address, never what it sent) and counts towards the address's back-off
/// (``SignInThrottle``, shared with the console's sign-in); while the address is locked out it gets 429.
struct AdminTokenMiddleware: RouterMiddleware {
    typealias Context = RelayRequestContext
    let config: LiveConfig
    let throttle: SignInThrottle

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = config.current.adminToken else { return try await next(request, context) }
        let unauthorized = APIError(.unauthorized, "unauthorized", "the admin API needs \"Authorization: Bearer <admin.token>\"")
        // No header is no guess (a scraper pointed at the wrong path, a browser): refused, not counted.
        guard let presented = request.headers[.authorization] else { throw unauthorized }
        let address = Self.clientAddress(context)
        if let wait = throttle.wait(address) { throw Self.tooManyAttempts(wait) }
        let prefix = "bearer "
        guard presented.count > prefix.count, presented.prefix(prefix.count).lowercased() == prefix,
              ConstantTime.equals(Array(presented.dropFirst(prefix.count).utf8), Array(token.utf8))
        else {
            let (failures, lock) = throttle.failed(address)
            Self.logRefusal(context, surface: "api", address: address, failures: failures, lock: lock)
            throw unauthorized
        }
        throttle.succeeded(address)
        return try await next(request, context)
    }

    /// The peer's IP address, the key of the back-off.
    static func clientAddress(_ context: Context) -> String { context.remoteAddress?.ipAddress ?? "unknown" }

    static func tooManyAttempts(_ wait: Duration) -> APIError {
        APIError(.tooManyRequests, "too_many_attempts", "too many wrong admin tokens from your address; try again in \(seconds(wait)) s")
    }

    /// Whole seconds, rounded up, for `Retry-After` and messages.
    static func seconds(_ duration: Duration) -> Int64 {
        let (whole, fraction) = duration.components
        return max(1, whole + (fraction > 0 ? 1 : 0))
    }

    /// One line per wrong token: where from, how many in a row, the lock-out it earned. Never the token.
    static func logRefusal(_ context: Context, surface: String, address: String, failures: Int, lock: Duration?) {
        var metadata: Logger.Metadata = [
            "auth.surface": .string(surface), "client.address": .string(address), "auth.failures": .stringConvertible(failures),
        ]
        if let lock { metadata["auth.locked_seconds"] = .stringConvertible(seconds(lock)) }
        context.logger.warning("admin token refused", metadata: metadata)
    }
}
