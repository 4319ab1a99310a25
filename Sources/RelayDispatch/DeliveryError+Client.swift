import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

extension DeliveryError {
    /// Classifies what AsyncHTTPClient or NIO threw for an attempt with `timeout` (the whole exchange) and
    /// `connectTimeout` (the client's), so a refused port reads `connection refused`, not NIO's errno text.
    public init(clientError error: any Error, timeout: Duration, connectTimeout: Duration) {
        switch error {
        case let error as DeliveryError:
            self = error
        case is CancellationError:
            self = .cancelled
        case let error as HTTPClientError:
            self = Self.classify(error, timeout: timeout, connectTimeout: connectTimeout)
        case let error as NIOConnectionError:
            // Happy Eyeballs: every address failed, or the name did not resolve.
            if let first = error.connectionErrors.first {
                self.init(clientError: first.error, timeout: timeout, connectTimeout: connectTimeout)
            } else if error.dnsAError != nil || error.dnsAAAAError != nil {
                self = .dnsFailure(host: error.host)
            } else {
                self = .other("\(error)")
            }
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: self = .connectionRefused
            case ECONNRESET, EPIPE: self = .connectionReset
            case ETIMEDOUT: self = .connectTimeout(connectTimeout)
            default: self = .other("\(error)")
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: self = .connectTimeout(connectTimeout)
            case .eof, .inputClosed, .outputClosed, .alreadyClosed, .ioOnClosedChannel: self = .connectionClosed
            default: self = .other("\(error)")
            }
        case let error as SocketAddressError.UnknownHost:
            self = .dnsFailure(host: error.host)
        case let error as HTTPParserError where error == .headerOverflow:
            self = .responseTooLarge
        case let error as HTTPParserError:
            self = .malformedResponse("\(error)")
        default:
            // NIOSSL is not a dependency of this target; its errors are recognised by their module.
            if String(reflecting: type(of: error)).hasPrefix("NIOSSL.") {
                self = .tlsFailure(Self.tlsReason("\(error)"))
            } else {
                self = .other("\(error)")
            }
        }
    }

    /// `handshakeFailed: wrong version number` from NIOSSL's text, which carries BoringSSL's error stack with the
    /// paths of its source files; the text itself (at most 200 characters) when it has no BoringSSL reason.
    static func tlsReason(_ text: String) -> String {
        let name = text.prefix { $0 != "(" }
        if let marker = text.range(of: "OPENSSL_internal:") {
            let reason = text[marker.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !reason.isEmpty { return "\(name): " + reason.lowercased().replacingOccurrences(of: "_", with: " ") }
        }
        return String(text.prefix(200))
    }

    private static func classify(_ error: HTTPClientError, timeout: Duration, connectTimeout: Duration) -> DeliveryError {
        switch error {
        case .deadlineExceeded, .readTimeout, .writeTimeout: .timeout(timeout)
        case .connectTimeout, .getConnectionFromPoolTimeout: .connectTimeout(connectTimeout)
        case .tlsHandshakeTimeout: .tlsFailure("handshake timed out")
        case .remoteConnectionClosed: .connectionClosed
        case .cancelled: .cancelled
        case .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath, .traceRequestWithBody:
            .requestNotBuilt("\(error)")
        default: .other("\(error)")
        }
    }
}
