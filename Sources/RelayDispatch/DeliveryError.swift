import RelayCore

/// Why an attempt failed, rendered as the short text dead letters, logs and `relay dlq list` show.
public enum DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing listens at the destination's address (ECONNREFUSED).
    case connectionRefused
    /// The destination reset the connection (ECONNRESET, EPIPE).
    case connectionReset
    /// The destination closed the connection before a whole response arrived.
    case connectionClosed
    /// The destination's host name did not resolve.
    case dnsFailure(host: String)
    /// The TLS handshake or session failed, in the TLS library's words.
    case tlsFailure(String)
    /// No connection within the client's connect timeout.
    case connectTimeout(Duration)
    /// No whole response within the destination's `timeout`.
    case timeout(Duration)
    /// The destination answered with a status outside 2xx.
    case httpStatus(Int)
    /// The response's head was larger than the client accepts.
    case responseTooLarge
    /// The response was not HTTP/1.1 (a garbage status line, broken framing), in the parser's words.
    case malformedResponse(String)
    /// The request could not be built (no key to sign with, an unreadable stored event, a bad URL).
    case requestNotBuilt(String)
    /// The attempt was cancelled by relay itself (shutdown past its grace): says nothing of the destination or the
    /// event, so the job goes back to pending with its attempt count unchanged.
    case cancelled
    /// Anything else, in the client's words.
    case other(String)

    /// A request that could not be built, for `reason`.
    public init(_ reason: String) { self = .requestNotBuilt(reason) }

    public var description: String {
        switch self {
        case .connectionRefused: "connection refused"
        case .connectionReset: "connection reset"
        case .connectionClosed: "connection closed before the response"
        case .dnsFailure(let host): "DNS lookup failed for \(host)"
        case .tlsFailure(let reason): "TLS failure: \(reason)"
        case .connectTimeout(let limit): "connect timed out after \(DurationText.format(limit))"
        case .timeout(let limit): "timed out after \(DurationText.format(limit))"
        case .httpStatus(let code): "HTTP \(code)"
        case .responseTooLarge: "response too large"
        case .malformedResponse(let reason): "malformed response (\(reason))"
        case .requestNotBuilt(let reason): "request not built: \(reason)"
        case .cancelled: "cancelled by relay's shutdown"
        case .other(let text): text
        }
    }
}
