import Hummingbird
import RelayCore
import RelayStore

/// `/admin/*`: stats, dead letters and their replay, behind the admin token when one is set.
public struct AdminController: Sendable {
    let config: LiveConfig
    let store: any Store
    let onReplay: @Sendable () -> Void

    public init(config: LiveConfig, store: any Store, onReplay: @escaping @Sendable () -> Void = {}) {
        self.config = config
        self.store = store
        self.onReplay = onReplay
    }

    public func addRoutes(to router: Router<RelayRequestContext>) {
        let admin = router.group("/admin").add(middleware: AdminTokenMiddleware(config: config))
        admin.get("/stats") { _, _ in
            JSONResponse.make(AdminJSON.stats(try await self.store.stats(nowMilliseconds: Timestamp.nowMilliseconds())))
        }
        admin.get("/dead-letters") { request, _ in
            let destination = request.uri.queryParameters["destination"].map(String.init)
            let limit = request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 1000
            return JSONResponse.make(AdminJSON.deadLetters(try await self.store.deadLetters(destination: destination, limit: min(limit, 10_000))))
        }
        admin.post("/dead-letters/replay") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let (ids, destination) = try Self.parseReplay(Array(buffer: body))
            let moved = try await self.store.replay(ids: ids, destination: destination, nowMilliseconds: Timestamp.nowMilliseconds())
            if moved > 0 { self.onReplay() }
            return JSONResponse.make(.object(["replayed": .integer(moved)]))
        }
    }

    /// `{"all": true}` or `{"ids": [...]}`, optionally with `"destination"`.
    static func parseReplay(_ body: [UInt8]) throws(APIError) -> (ids: [Int64]?, destination: String?) {
        guard let json = try? JSONParser.parse(body), let object = json.objectValue else {
            throw APIError(.badRequest, "invalid_request", "the body must be a JSON object: {\"all\": true} or {\"ids\": [...]}")
        }
        let destination = object["destination"]?.stringValue
        if let ids = object["ids"]?.arrayValue {
            let parsed = ids.compactMap(\.int64Value)
            guard parsed.count == ids.count, !parsed.isEmpty else {
                throw APIError(.badRequest, "invalid_request", "\"ids\" must be a non-empty list of dead-letter ids")
            }
            return (parsed, destination)
        }
        guard object["all"]?.boolValue == true else {
            throw APIError(.badRequest, "invalid_request", "say {\"all\": true} or give {\"ids\": [...]}")
        }
        return (nil, destination)
    }
}

/// Requires `Authorization: Bearer <admin.token>` when a token is configured, compared in constant time.
struct AdminTokenMiddleware: RouterMiddleware {
    typealias Context = RelayRequestContext
    let config: LiveConfig

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let token = config.current.adminToken {
            let presented = request.headers[.authorization] ?? ""
            let prefix = "bearer "
            guard presented.count > prefix.count, presented.prefix(prefix.count).lowercased() == prefix,
                  ConstantTime.equals(Array(presented.dropFirst(prefix.count).utf8), Array(token.utf8))
            else {
                throw APIError(.unauthorized, "unauthorized", "the admin API needs \"Authorization: Bearer <admin.token>\"")
            }
        }
        return try await next(request, context)
    }
}
