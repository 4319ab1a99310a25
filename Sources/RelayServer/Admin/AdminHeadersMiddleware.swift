import Hummingbird

/// Puts the browser-facing safety headers on every answer of the admin listener, errors included: no framing (a
/// hostile page cannot lay the console under its own clicks), nothing loaded or posted from another origin, no
/// sniffing a JSON body into something else, no `Referer` carrying console URLs (dead-letter filters, ids) away.
struct AdminHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The console is server-rendered with one stylesheet of its own and no script: `'self'` covers it all.
    static var contentSecurityPolicy: String { "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'" }

    static var headers: HTTPFields {
        [
            .init("X-Frame-Options")!: "DENY",
            .contentSecurityPolicy: contentSecurityPolicy,
            .init("X-Content-Type-Options")!: "nosniff",
            .init("Referrer-Policy")!: "no-referrer",
            .init("Cross-Origin-Resource-Policy")!: "same-origin",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        for field in Self.headers where response.headers[field.name] == nil { response.headers.append(field) }
        return response
    }
}
