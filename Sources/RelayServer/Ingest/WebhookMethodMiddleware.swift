import HTTPTypes
import Hummingbird

/// Every method but POST on `/webhooks/<id>` gets 405 with `Allow: POST`, the ones the router has no route for
/// (OPTIONS, TRACE, PROPFIND, any extension method) included, rather than a 404 that says the path is wrong.
struct WebhookMethodMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method != .post, Self.isWebhookPath(request.uri.path) {
            return Response(status: .methodNotAllowed, headers: [.allow: "POST", .contentLength: "0"])
        }
        return try await next(request, context)
    }

    /// `/webhooks/<one segment>`, as the router matches it.
    static func isWebhookPath(_ path: String) -> Bool {
        guard path.hasPrefix("/webhooks/") else { return false }
        let rest = path.utf8.dropFirst("/webhooks/".utf8.count)
        let segment = rest.last == UInt8(ascii: "/") ? rest.dropLast() : rest
        return !segment.isEmpty && !segment.contains(UInt8(ascii: "/"))
    }
}
