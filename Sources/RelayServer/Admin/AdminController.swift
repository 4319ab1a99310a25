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
            AdminJSON.response(StatsBody(try await self.store.stats(nowMilliseconds: Timestamp.nowMilliseconds())))
        }
        admin.get("/dead-letters") { request, _ in
            let destination = request.uri.queryParameters["destination"].map(String.init)
            let limit = try Self.limit(request.uri.queryParameters["limit"].map(String.init))
            let letters = try await self.store.deadLetters(destination: destination, limit: limit)
            return AdminJSON.response(letters.map(DeadLetterBody.init))
        }
        admin.get("/messages/:source/:message") { _, context in
            let source = try context.parameters.require("source")
            let message = try context.parameters.require("message")
            guard let record = try await self.store.message(sourceID: source, messageID: message) else {
                let known = self.config.current.source(source) != nil
                throw APIError(.notFound, "unknown_message", known
                    ? "no message \"\(message.prefix(200))\" from source \"\(source)\" in the ledger"
                    : "no source \"\(source.prefix(64))\" is configured")
            }
            return AdminJSON.response(MessageBody(record))
        }
        admin.post("/expectations") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let expectations = try ExpectationsBody.parse(Array(buffer: body), config: self.config.current, nowMilliseconds: Timestamp.nowMilliseconds())
            let result = try await self.store.expect(expectations)
            return AdminJSON.response(ExpectationsResult(registered: result.registered, alreadyMet: result.alreadyMet))
        }
        admin.post("/dead-letters/replay") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let replay = try ReplayRequest.parse(Array(buffer: body))
            let moved = try await self.store.replay(ids: replay.ids, destination: replay.destination, nowMilliseconds: Timestamp.nowMilliseconds())
            if moved > 0 { self.onReplay() }
            return AdminJSON.response(ReplayResult(replayed: moved))
        }
    }

    /// The most dead letters one request lists.
    static let limits = 1...10_000

    /// `?limit=`: 1000 when absent, else an integer in `limits`. Anything else is refused: SQLite reads a negative
    /// `LIMIT` as "no limit", so a lenient reading of `limit=-1` would list every row.
    static func limit(_ text: String?) throws(APIError) -> Int {
        guard let text else { return 1000 }
        guard let value = Int(text), limits.contains(value) else {
            throw .invalidRequest("limit must be an integer from \(limits.lowerBound) to \(limits.upperBound), not \"\(text.prefix(32))\"")
        }
        return value
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
