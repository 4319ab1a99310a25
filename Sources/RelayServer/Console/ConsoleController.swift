import Foundation
import Hummingbird
import HummingbirdAuth
import Mustache
import RelayCore
import RelayDispatch
import RelayStore
import Synchronization

/// A console session: signed in or not yet, and the CSRF token its forms carry.
public struct ConsoleSession: Codable, Sendable {
    var signedIn: Bool
    var csrf: String

    static func fresh(signedIn: Bool) -> ConsoleSession {
        ConsoleSession(signedIn: signedIn, csrf: (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined())
    }
}

/// Job counts kept between pages.
final class CountsCache: Sendable {
    let value = Mutex<(stats: StoreStats, atMilliseconds: Int64)?>(nil)
}

/// The operator console at `/` of the admin listener (SPEC section 11): sign-in with the admin token (a session
/// cookie, `HttpOnly`, `SameSite=Strict`), an overview per destination, dead letters with filters and replay, and
/// event and message lookup. Server-rendered, plain forms; every form that changes something carries the session's
/// CSRF token, and a request without it is refused (403) and changes nothing.
struct ConsoleController: Sendable {
    let config: LiveConfig
    let store: any Store
    let controls: DestinationControls
    let onReplay: @Sendable () -> Void
    /// Sessions live in this process (an operator signs in again after a restart).
    let sessions = MemoryPersistDriver()
    static let sessionLifetime: Duration = .seconds(12 * 3600)
    /// Counts this console took itself, when housekeeping's are not at hand (another instance holds the turn).
    let counted = CountsCache()
    static let instance = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"

    func addRoutes(to router: Router<RelayRequestContext>) {
        router.get("/console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        }
        let cookie = SessionCookieParameters(name: "relay_console", path: "/", secure: false, sameSite: .strict)
        let console = router.group().add(middleware: SessionMiddleware<RelayRequestContext>(
            storage: sessions, configuration: .init(sessionCookieParameters: cookie, defaultSessionExpiration: Self.sessionLifetime)))
        console.get("/") { request, context in try await self.page(request, context) { session in try await self.overview(session) } }
        console.get("/dead-letters") { request, context in try await self.page(request, context) { session in try await self.deadLetters(request, session) } }
        console.get("/lookup") { request, context in try await self.page(request, context) { session in try await self.lookup(request, session) } }
        console.post("/dead-letters/replay") { request, context in
            try await self.form(request, context) { session, form in try await self.replay(form, session) }
        }
        console.get("/login") { request, context in
            guard self.enabled else { return Self.disabled() }
            let session = context.sessions.session ?? ConsoleSession.fresh(signedIn: false)
            if session.signedIn || self.config.current.adminToken == nil { return Self.redirect("/") }
            context.sessions.createSession(session)
            return self.render("login", ["title": "Sign in", "csrf": session.csrf], session: nil)
        }
        console.post("/login") { request, context in
            guard self.enabled else { return Self.disabled() }
            let form = try await Self.formFields(request)
            guard let session = context.sessions.session, Self.sameToken(form["csrf"], session.csrf) else { return Self.forbidden() }
            guard let token = self.config.current.adminToken, let given = form["token"],
                  ConstantTime.equals(Array(given.utf8), Array(token.utf8)) else {
                return self.render("login", ["title": "Sign in", "csrf": session.csrf, "error": "That is not the admin token."], session: nil, status: .unauthorized)
            }
            context.sessions.createSession(ConsoleSession.fresh(signedIn: true))  // a new CSRF token once signed in
            return Self.redirect("/")
        }
        console.post("/logout") { request, context in
            let form = try await Self.formFields(request)
            guard let session = context.sessions.session, Self.sameToken(form["csrf"], session.csrf) else { return Self.forbidden() }
            context.sessions.clearSession()
            return Self.redirect("/login")
        }
    }

    /// Without an admin token the console is served only on a loopback admin listener.
    var enabled: Bool { config.current.adminToken != nil || config.current.adminListen.isLoopback }

    // MARK: Pages

    private func overview(_ session: ConsoleSession) async throws -> Response {
        let now = Timestamp.nowMilliseconds()
        let cached = controls.dispatcher?.lastStats
        let (stats, at): (StoreStats, Int64)
        // Counting a large store takes a tenth of a second per million jobs: pages show the last counts (housekeeping
        // takes them every few seconds), or take them at most every 5 s here.
        if let cached, now - cached.atMilliseconds < 60_000 {
            (stats, at) = (cached.stats, cached.atMilliseconds)
        } else if let own = counted.value.withLock({ $0 }), now - own.atMilliseconds < 5_000 {
            (stats, at) = (own.stats, own.atMilliseconds)
        } else {
            (stats, at) = (try await store.stats(nowMilliseconds: now, countingEvents: false), now)
            counted.value.withLock { $0 = (stats, at) }
        }
        let states = try await controls.states()
        let activity = controls.dispatcher?.destinationActivity() ?? [:]
        let config = config.current
        let rows: [[String: Any]] = config.destinations.map { destination in
            let counts = stats.destinations.first { $0.destination == destination.id } ?? DestinationStats(destination: destination.id)
            let state = states[destination.id]
            let recent = activity[destination.id]
            return [
                "name": destination.id, "state": state?.state ?? "closed",
                "since": state.map { Self.time($0.sinceMilliseconds) } ?? "start",
                "pending": counts.pending, "inFlight": counts.inFlight, "dead": counts.dead, "hasDead": counts.dead > 0, "delivered": counts.delivered,
                "oldest": counts.oldestPendingSeconds.map { Self.duration(seconds: $0) } ?? "-",
                "rate": String(format: "%.1f", recent?.attemptsPerSecond ?? 0),
                "lastError": recent?.lastError ?? "-",
                "lastErrorAge": recent?.lastErrorAtMilliseconds.map { Self.time($0) + " (" + Self.age($0, now: now) + ")" } ?? false,
            ]
        }
        let storeKind: String
        switch config.store {
        case .sqlite: storeKind = "sqlite"
        case .postgres: storeKind = "postgres"
        }
        return render("overview", [
            "title": "Overview", "destinations": rows, "store": storeKind, "instance": Self.instance,
            "countsAt": Self.time(at), "countsAge": Self.age(at, now: now),
        ], session: session)
    }

    private func deadLetters(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let query = request.uri.queryParameters
        let filter = try Self.filter(destination: query["destination"].map(String.init), since: query["since"].map(String.init),
                                     until: query["until"].map(String.init), type: query["type"].map(String.init))
        let limit = 200
        let now = Timestamp.nowMilliseconds()
        var letters = try await store.deadLetters(destination: filter.destination, sinceMilliseconds: filter.sinceMilliseconds,
                                                  untilMilliseconds: filter.untilMilliseconds, limit: limit)
        if let type = filter.type { letters = letters.filter { Glob.matches(type, $0.type) } }
        let rows: [[String: Any]] = letters.map { letter in
            [
                "id": letter.id, "destination": letter.destination, "event": letter.eventID, "source": letter.sourceID, "type": letter.type,
                "attempts": letter.attempts, "status": letter.lastStatus.map(String.init) ?? "-", "error": letter.lastError ?? "-",
                "response": letter.lastResponse.map { String($0.prefix(200)) } ?? "", "failedAt": Self.time(letter.failedAtMilliseconds),
                "failedAge": Self.age(letter.failedAtMilliseconds, now: now),
            ]
        }
        return render("deadLetters", [
            "title": "Dead letters", "letters": rows, "count": rows.count, "hasLetters": !rows.isEmpty, "more": letters.count >= limit,
            "destination": filter.destination ?? "", "since": query["since"].map(String.init) ?? "",
            "until": query["until"].map(String.init) ?? "", "type": filter.type ?? "",
            "notice": query["notice"].map(String.init) ?? false,
        ], session: session)
    }

    private func lookup(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let query = request.uri.queryParameters
        let source = query["source"].map(String.init) ?? ""
        var values: [String: Any] = ["title": "Lookup", "source": source]
        var status = HTTPResponse.Status.ok
        if let id = query["event"].map(String.init), !id.isEmpty {
            values["eventID"] = id
            if let detail = try await store.event(sourceID: source, eventID: id) {
                let json = (try? JSONParser.parse(detail.canonical)).map { Self.pretty($0) } ?? String(decoding: detail.canonical, as: UTF8.self)
                values["event"] = [
                    "id": detail.eventID, "type": detail.type, "receivedAt": Self.time(detail.receivedAtMilliseconds), "json": json,
                    "jobs": detail.jobs.map { job -> [String: Any] in
                        ["destination": job.destination, "state": job.state, "attempts": job.attempts,
                         "next": job.state == "pending" ? Self.time(job.nextAttemptAtMilliseconds) : "-",
                         "status": job.lastStatus.map(String.init) ?? "-", "error": job.lastError ?? "-",
                         "response": job.lastResponse.map { String($0.prefix(200)) } ?? ""]
                    },
                ] as [String: Any]
            } else {
                values["missing"] = "No event \"\(id)\" from source \"\(source)\" in the store (never stored, or pruned after delivery)."
                status = .notFound
            }
        }
        if let id = query["message"].map(String.init), !id.isEmpty {
            values["messageID"] = id
            if let record = try await store.message(sourceID: source, messageID: id) {
                let body = MessageBody(record)
                values["message"] = [
                    "id": body.messageID, "status": body.status ?? "no status yet", "overdue": body.overdue,
                    "channels": body.channels.sorted { $0.key < $1.key }.map { "\($0.key.isEmpty ? "-" : $0.key): \($0.value)" }.joined(separator: ", "),
                    "history": body.history.map { entry -> [String: Any] in
                        ["receivedAt": entry.receivedAt, "status": entry.status + (entry.detail.map { " (\($0))" } ?? ""),
                         "channel": entry.channel, "time": entry.time, "advanced": entry.advanced ? "yes" : "no", "eventID": entry.eventID]
                    },
                ] as [String: Any]
            } else {
                values["missing"] = "No message \"\(id)\" from source \"\(source)\" in the ledger."
                status = .notFound
            }
        }
        return render("lookup", values, session: session, status: status)
    }

    private func replay(_ form: [String: String], _ session: ConsoleSession) async throws -> Response {
        let request: ReplayRequest
        if let id = form["id"] {
            guard let value = Int64(id) else { return problem("Bad request", "The dead letter id must be a number.", session, status: .badRequest) }
            request = ReplayRequest(ids: [value], destination: nil)
        } else if form["all"] == "true" {
            let filter = try Self.filter(destination: form["destination"], since: form["since"], until: form["until"], type: form["type"])
            request = ReplayRequest(ids: nil, destination: filter.destination, sinceMilliseconds: filter.sinceMilliseconds,
                                    untilMilliseconds: filter.untilMilliseconds, type: filter.type)
        } else {
            return problem("Bad request", "Say which dead letters to replay.", session, status: .badRequest)
        }
        let moved = try await request.apply(to: store, nowMilliseconds: Timestamp.nowMilliseconds())
        if moved > 0 { onReplay() }
        var back = URLComponents()
        back.path = "/dead-letters"
        back.queryItems = [URLQueryItem(name: "notice", value: "Replayed \(moved) dead letter\(moved == 1 ? "" : "s").")]
            + ["destination", "since", "until", "type"].compactMap { key in form[key].flatMap { $0.isEmpty ? nil : URLQueryItem(name: key, value: $0) } }
        return Self.redirect(back.string ?? "/dead-letters")
    }

    // MARK: Plumbing

    /// A signed-in page; otherwise to the sign-in form (a session is made on loopback without a token).
    private func page(_ request: Request, _ context: RelayRequestContext, _ body: (ConsoleSession) async throws -> Response) async throws -> Response {
        guard enabled else { return Self.disabled() }
        var session = context.sessions.session
        if config.current.adminToken == nil, session?.signedIn != true {
            session = ConsoleSession.fresh(signedIn: true)
            context.sessions.createSession(session!)
        }
        guard let session, session.signedIn else { return Self.redirect("/login") }
        do {
            return try await body(session)
        } catch let error as APIError {
            return problem("Bad request", error.message, session, status: error.status)
        } catch let error as StoreError {
            return problem("The store cannot answer now", error.message, session, status: .serviceUnavailable)
        }
    }

    /// A signed-in form post with its CSRF token; 403 otherwise, before anything is done.
    private func form(_ request: Request, _ context: RelayRequestContext, _ body: (ConsoleSession, [String: String]) async throws -> Response) async throws -> Response {
        guard enabled else { return Self.disabled() }
        let fields = try await Self.formFields(request)
        guard let session = context.sessions.session, Self.sameToken(fields["csrf"], session.csrf) else { return Self.forbidden() }
        guard session.signedIn else { return Self.redirect("/login") }
        do {
            return try await body(session, fields)
        } catch let error as APIError {
            return problem("Bad request", error.message, session, status: error.status)
        } catch let error as StoreError {
            return problem("The store cannot answer now", error.message, session, status: .serviceUnavailable)
        }
    }

    static func sameToken(_ given: String?, _ expected: String) -> Bool {
        guard let given else { return false }
        return ConstantTime.equals(Array(given.utf8), Array(expected.utf8))
    }

    static func formFields(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 64 << 10)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            if let key = parts.first { fields[decode(key)] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }

    struct Filter {
        var destination: String?
        var sinceMilliseconds: Int64?
        var untilMilliseconds: Int64?
        var type: String?
    }

    static func filter(destination: String?, since: String?, until: String?, type: String?) throws(APIError) -> Filter {
        func time(_ text: String?, _ name: String) throws(APIError) -> Int64? {
            guard let text, !text.isEmpty else { return nil }
            guard let at = Timestamp.parse(text) else { throw .invalidRequest("\(name) must be an RFC 3339 time such as 2026-12-01T09:00:00Z") }
            return at
        }
        return Filter(destination: destination.flatMap { $0.isEmpty ? nil : $0 }, sinceMilliseconds: try time(since, "since"),
                      untilMilliseconds: try time(until, "until"), type: type.flatMap { $0.isEmpty ? nil : $0 })
    }

    private func render(_ template: String, _ values: [String: Any], session: ConsoleSession?, status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["signedIn"] = session?.signedIn ?? false
        if let session { values["csrf"] = values["csrf"] ?? session.csrf }
        values["footer"] = "relay · times in UTC · \(Self.time(Timestamp.nowMilliseconds()))"
        let html = ConsoleTemplates.library.render(values, withTemplate: template) ?? "template \(template) is missing"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    private func problem(_ heading: String, _ text: String, _ session: ConsoleSession, status: HTTPResponse.Status) -> Response {
        render("problem", ["title": heading, "heading": heading, "text": text], session: session, status: status)
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func forbidden() -> Response {
        let html = "<!doctype html><html lang=\"en\"><title>Refused</title><h1>Refused</h1><p>The form's CSRF token is missing or does not match your session: nothing was changed. <a href=\"/\">Reload the console</a>.</p></html>"
        return Response(status: .forbidden, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func disabled() -> Response {
        let html = "<!doctype html><html lang=\"en\"><title>Console off</title><h1>Console off</h1><p>Set admin.token to use the console on a listener that is not loopback.</p></html>"
        return Response(status: .notFound, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func time(_ ms: Int64) -> String { Timestamp.format(epochMilliseconds: ms).replacingOccurrences(of: "T", with: " ") }

    /// "3 min ago".
    static func age(_ ms: Int64, now: Int64) -> String {
        let seconds = max(0, (now - ms) / 1000)
        switch seconds {
        case ..<60: return "\(seconds) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86_400: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86_400) d ago"
        }
    }

    static func duration(seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : seconds < 3600 ? "\(Int(seconds / 60)) min" : "\(Int(seconds / 3600)) h"
    }

    /// Indented JSON for reading.
    static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .object(let object):
            guard !object.members.isEmpty else { return "{}" }
            return "{\n" + object.members.map { inner + String(decoding: JSONWriter.serialize(.string($0.key)), as: UTF8.self) + ": " + pretty($0.value, indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return String(decoding: JSONWriter.serialize(value), as: UTF8.self)
        }
    }
}
