import Foundation
import Hummingbird

/// Takes a state-changing admin request only with `Content-Type: application/json` (415 otherwise), whatever its
/// body, an empty one included. A browser sends a cross-origin request without asking first only with a "simple"
/// content type (form, multipart, text, or none); `application/json` makes it ask (CORS preflight), and the admin
/// listener never says yes, so a page on another origin cannot pause a destination or replay dead letters.
struct JSONContentTypeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method != .get, request.method != .head, !Self.isJSON(request.headers[.contentType]) {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "send the request with \"Content-Type: application/json\"")
        }
        return try await next(request, context)
    }

    /// `application/json`, with parameters (`; charset=utf-8`) or not, in any case.
    static func isJSON(_ value: String?) -> Bool {
        guard let value else { return false }
        let type = value.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return type == "application/json"
    }
}
