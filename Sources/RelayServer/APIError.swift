import Hummingbird
import NIOCore
import RelayCore
import RelayIngest

/// An error answered as `{"error": code, "message": ...}` with its HTTP status.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Why it happened, for the log line only: the answer stays generic (a store's path or SQLite's words are not
    /// the caller's business).
    public var cause: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, cause: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.cause = cause
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = JSONObject()
        body.append("error", .string(code))
        body.append("message", .string(message))
        return JSONResponse.make(status: status, .object(body))
    }

    static func unknownSource(_ id: String) -> APIError {
        guard SourceID.isValid(id) else {
            return .init(.notFound, "unknown_source", "no source is configured at that path (\(id.utf8.count) bytes, not a source id)")
        }
        return .init(.notFound, "unknown_source", "no source \"\(id)\" is configured")
    }
    static func forbidden() -> APIError { .init(.forbidden, "forbidden", "the peer address is not in this source's allow_from list") }
    static func invalidSignature(_ message: String) -> APIError { .init(.unauthorized, "invalid_signature", message) }
    static func invalidPayload(_ message: String) -> APIError { .init(.badRequest, "invalid_payload", message) }
    static func tooLarge(_ limit: Int) -> APIError { .init(.contentTooLarge, "payload_too_large", "the body is larger than limits.max_body (\(SizeText.format(limit)))") }
    static func invalidRequest(_ message: String) -> APIError { .init(.badRequest, "invalid_request", message) }
    static func unavailable(_ message: String, cause: String? = nil) -> APIError { .init(.serviceUnavailable, "unavailable", message, cause: cause) }
    static func busy() -> APIError { .unavailable("too many request bodies are being received at once (limits.max_buffered); retry later") }
}

/// JSON responses without the cost of Codable.
enum JSONResponse {
    static func make(status: HTTPResponse.Status = .ok, _ value: JSONValue) -> Response {
        let bytes = JSONWriter.serialize(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension APIError {
    /// The answer to an intake refusal (SPEC section 4).
    init(_ refusal: Intake.Refusal, sourceID: String) {
        switch refusal {
        case .unknownSource: self = .unknownSource(sourceID)
        case .forbidden: self = .forbidden()
        case .invalidCredential(let header, let present):
            self = .invalidSignature(present ? "the \(header) header does not verify" : "the \(header) header is missing")
        case .invalidPayload(let message): self = .invalidPayload(message)
        case .unavailable(let error):
            self = .unavailable("the event store cannot commit now; retry later", cause: "\(error.kind.rawValue): \(error.message)")
        }
    }
}
