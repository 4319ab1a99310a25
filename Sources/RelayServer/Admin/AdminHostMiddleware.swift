import Hummingbird
import RelayCore

/// Refuses, with 421 and before any route, a request whose `Host` header does not name the admin listener (see
/// ``AdminHost``): a page on a DNS-rebound name then reads nothing, `/metrics` and the console included.
struct AdminHostMiddleware: RouterMiddleware {
    typealias Context = RelayRequestContext
    let config: LiveConfig

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let config = config.current
        guard AdminHost.allows(request.head.authority, listen: config.adminListen, hosts: config.adminHosts) else {
            context.logger.debug("admin request for another host refused")
            let text = "This listener does not answer that Host name. Use its address, localhost, or a name listed in admin.hosts.\n"
            return Response(status: .misdirectedRequest, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return try await next(request, context)
    }
}
