import Foundation
import Hummingbird
import RelayCore
import RelayDispatch
import RelayStore

/// `/admin/*`: stats, dead letters and their replay, behind the admin token when one is set.
public struct AdminController: Sendable {
    let config: LiveConfig
    let store: any Store
    let onReplay: @Sendable () -> Void
    let controls: DestinationControls
    let throttle: SignInThrottle

    public init(config: LiveConfig, store: any Store, controls: DestinationControls? = nil, throttle: SignInThrottle = SignInThrottle(),
                onReplay: @escaping @Sendable () -> Void = {}) {
        self.config = config
        self.throttle = throttle
        self.store = store
        self.controls = controls ?? DestinationControls(store: store)
        self.onReplay = onReplay
    }

    public func addRoutes(to router: Router<RelayRequestContext>) {
        let admin = router.group("/admin")
            .add(middleware: AdminTokenMiddleware(config: config, throttle: throttle))
            .add(middleware: JSONContentTypeMiddleware())
            .add(middleware: StoreErrorMiddleware())
        admin.get("/stats") { _, _ in
            let stats = try await self.store.stats(nowMilliseconds: Timestamp.nowMilliseconds())
            return AdminJSON.response(StatsBody(stats, states: try await self.controls.states()))
        }
        admin.get("/destinations") { _, _ in
            AdminJSON.response(DestinationStateBody.list(self.config.current, try await self.controls.states()))
        }
        admin.post("/destinations/:destination/pause") { request, context in
            let id = try self.destination(context)
            let body = try await request.body.collect(upTo: 64 << 10)
            let until = try Self.pauseUntil(Array(buffer: body))
            let behind = try await self.controls.pause(id, untilMilliseconds: until)
            let states = try await self.controls.states()
            return AdminJSON.response(PauseResult(state: DestinationStateBody(destination: id, state: states[id]
                ?? DestinationState(state: "paused", sinceMilliseconds: Timestamp.nowMilliseconds(), untilMilliseconds: until)), unacknowledged: behind))
        }
        admin.post("/destinations/:destination/resume") { _, context in
            let id = try self.destination(context)
            let was = try await self.controls.resume(id)
            return AdminJSON.response(ResumeResult(destination: id, resumed: was))
        }
        admin.get("/dead-letters") { request, _ in
            let destination = request.uri.queryParameters["destination"].map(String.init)
            let limit = try Self.limit(request.uri.queryParameters["limit"].map(String.init))
            let letters = try await self.store.deadLetters(destination: destination, limit: limit)
            return AdminJSON.response(letters.map(DeadLetterBody.init))
        }
        admin.get("/events/:source/:event") { _, context in
            let source = try Self.segment("source", context)
            let event = try Self.segment("event", context)
            guard let detail = try await self.store.event(sourceID: source, eventID: event) else {
                throw APIError(.notFound, "unknown_event", "no event \"\(event.prefix(200))\" from source \"\(source.prefix(64))\" in the store (never stored, or pruned after delivery)")
            }
            return JSONResponse.make(EventBody.json(detail))
        }
        admin.get("/messages/:source/:message") { _, context in
            let source = try Self.segment("source", context)
            let message = try Self.segment("message", context)
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
            let moved = try await replay.apply(to: self.store, nowMilliseconds: Timestamp.nowMilliseconds())
            if moved > 0 { self.onReplay() }
            return AdminJSON.response(ReplayResult(replayed: moved))
        }
    }

    /// The configured destination a path names; a 404 otherwise.
    func destination(_ context: RelayRequestContext) throws -> String {
        let id = try Self.segment("destination", context)
        guard config.current.destination(id) != nil else {
            throw APIError(.notFound, "unknown_destination", "no destination \"\(id.prefix(64))\" is configured")
        }
        return id
    }

    /// A path segment, percent-decoded: ids may hold any character, and `/admin/events/shop/a%2Fb` names the event
    /// `a/b`. A segment that does not decode (`%zz`, bytes that are not UTF-8) is a 400.
    static func segment(_ name: String, _ context: RelayRequestContext) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = Self.percentDecoded(raw) else {
            throw APIError.invalidRequest("the \(name) in the path is not valid percent-encoded UTF-8")
        }
        return decoded
    }

    /// `text` with each `%XX` decoded; nil when a `%` is not followed by two hex digits or the bytes are not UTF-8.
    /// (Foundation's `removingPercentEncoding` leaves `%zz` as it is on Linux.)
    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard input.count >= 2, let high = hexValue(input.removeFirst()), let low = hexValue(input.removeFirst()) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A pause body: empty, `{}`, or `{"until": "<RFC 3339>"}`.
    static func pauseUntil(_ body: [UInt8]) throws(APIError) -> Int64? {
        guard body.contains(where: { !$0.isWhitespace }) else { return nil }
        let object = try StrictJSONObject.parse(body, usage: #"empty, or {"until": "<RFC 3339 time>"}"#)
        if let unknown = object.members.map(\.key).first(where: { $0 != "until" }) {
            throw .invalidRequest("unknown key \"\(unknown.prefix(64))\"; the body is {\"until\": \"<RFC 3339 time>\"} or empty")
        }
        guard let value = object["until"] else { return nil }
        guard let text = value.stringValue else { throw .invalidRequest("until must be an RFC 3339 time (a string)") }
        return try DestinationControls.until(text, nowMilliseconds: Timestamp.nowMilliseconds())
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

/// The pause's answer: the destination's state, and the live instances that did not acknowledge it in time (empty: no
/// instance starts a new attempt for it from now on).
struct PauseResult: Encodable {
    var state: DestinationStateBody
    var unacknowledged: [String]

    enum CodingKeys: String, CodingKey { case destination, state, since, until, unacknowledged }

    func encode(to encoder: any Encoder) throws {
        try state.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(unacknowledged, forKey: .unacknowledged)
    }
}

struct ResumeResult: Encodable {
    var destination: String
    /// Whether it was paused.
    var resumed: Bool
}

private extension UInt8 {
    var isWhitespace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}
