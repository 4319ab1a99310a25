import Foundation
import Hummingbird
import HummingbirdAuth
import Mustache
import RelayCore
import RelayDispatch
import RelayStore
import Synchronization

/// A signed-in console session: the CSRF token its forms carry and the tag of the admin token it was signed in with
/// (``ConsoleCookies``), so a reload that changes the token ends it.
public struct ConsoleSession: Codable, Sendable {
    var csrf: String
    var tokenTag: String
}

/// Job counts kept between pages.
final class CountsCache: Sendable {
    let value = Mutex<(stats: StoreStats, atMilliseconds: Int64)?>(nil)
}

/// The operator console at `/` of the admin listener (SPEC section 11): sign-in with the admin token (a session
/// cookie, `HttpOnly`, `SameSite=Strict`, bound to the token), an overview per destination, dead letters with filters
/// and replay, and event and message lookup. Server-rendered, plain forms; every form that changes something carries a
/// CSRF token (the session's, or before sign-in a signed cookie's), and a request without it is refused (403) and
/// changes nothing. Access: `ConsoleController+Access.swift`; forms in and pages out: `ConsoleController+Rendering.swift`.
struct ConsoleController: Sendable {
    let config: LiveConfig
    let store: any Store
    let controls: DestinationControls
    let onReplay: @Sendable () -> Void
    /// Signed-in sessions (capped, tidied by its own service in the group).
    let sessions: ConsoleSessionStore
    /// Wrong tokens per client address, shared with the admin API.
    let throttle: SignInThrottle
    let cookies = ConsoleCookies()
    static let sessionLifetime: Duration = .seconds(12 * 3600)
    /// Counts this console took itself, when housekeeping's are not at hand (another instance holds the turn).
    let counted = CountsCache()
    /// How often the overview reloads itself (SPEC section 17).
    static let refreshSeconds = 10
    static let instance = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"

    func addRoutes(to router: Router<RelayRequestContext>) {
        router.get("/console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsoleTemplates.stylesheet)))
        }
        let cookie = SessionCookieParameters(name: "relay_console", path: "/", secure: false, sameSite: .strict)
        let console = router.group().add(middleware: SessionMiddleware<RelayRequestContext>(
            storage: sessions, configuration: .init(sessionCookieParameters: cookie, defaultSessionExpiration: Self.sessionLifetime)))
        console.get("/") { request, context in try await self.page(request, context) { visit in try await self.overview(visit) } }
        console.get("/dead-letters") { request, context in try await self.page(request, context) { visit in try await self.deadLetters(request, visit) } }
        console.get("/lookup") { request, context in try await self.page(request, context) { visit in try await self.lookup(request, visit) } }
        console.post("/dead-letters/replay") { request, context in
            try await self.form(request, context) { visit, form in try await self.replay(form, visit) }
        }
        console.get("/login") { request, context in try await self.signInForm(request, context) }
        console.post("/login") { request, context in try await self.signIn(request, context) }
        console.post("/logout") { request, context in try await self.signOut(request, context) }
    }

    /// Without an admin token the console is served only on a loopback admin listener.
    var enabled: Bool { config.current.adminToken != nil || config.current.adminListen.isLoopback }

    // MARK: Pages

    private func overview(_ visit: ConsoleVisit) async throws -> Response {
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
                "deadHref": Self.link("/dead-letters", [("destination", destination.id)]),
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
        // The charts (SPEC section 17) read the store's minute rows: the last hour of every figure (a range of the
        // minute-keyed table), and the ledgers' day, summed per source and status by the store.
        let minute = MinuteCount.minute(of: now)
        let hour = try await store.minuteCounts(sinceMinute: minute - Int64(OverviewCharts.minutes) + 1)
        let day = try await store.ledgerTotals(sinceMinute: minute - OverviewCharts.shareMinutes + 1)
        let charts = OverviewCharts(hour + day, nowMilliseconds: now)
        let ledgers = config.sources.filter { $0.keepsLedger || charts.hasLedger($0.id) }.map { charts.share($0.id) }
        return render("overview", [
            "title": "Overview", "destinations": rows, "store": storeKind, "instance": Self.instance,
            "countsAt": Self.time(at), "countsAge": Self.age(at, now: now), "refresh": Self.refreshSeconds,
            "drawnAt": Self.time(now), "drawnISO": Timestamp.format(epochMilliseconds: now),
            "destinationCharts": config.destinations.map { charts.destination($0.id) },
            "sourceCharts": config.sources.map { charts.source($0.id) },
            "ledgerCharts": ledgers, "hasLedgers": !ledgers.isEmpty,
        ], visit: visit)
    }

    private func deadLetters(_ request: Request, _ visit: ConsoleVisit) async throws -> Response {
        let query = request.uri.queryParameters
        let filter = try Self.filter(destination: query["destination"].map(String.init), since: query["since"].map(String.init),
                                     until: query["until"].map(String.init), type: query["type"].map(String.init))
        let limit = 200
        let now = Timestamp.nowMilliseconds()
        // The type is matched by the store, before the limit: filtered here, a page of 200 could show fewer than match.
        let letters = try await store.deadLetters(destination: filter.destination, sinceMilliseconds: filter.sinceMilliseconds,
                                                  untilMilliseconds: filter.untilMilliseconds, type: filter.type, limit: limit)
        let notice: Any = ConsoleNotice(code: query["notice"].map(String.init), count: query["count"].map(String.init))?.text ?? false
        let rows: [[String: Any]] = letters.map { letter -> [String: Any] in
            let eventHref: String = Self.link("/lookup", [("source", letter.sourceID), ("event", letter.eventID)])
            return [
                "id": letter.id, "destination": letter.destination, "event": letter.eventID, "type": letter.type, "eventHref": eventHref,
                "attempts": letter.attempts, "status": letter.lastStatus.map(String.init) ?? "-", "error": letter.lastError ?? "-",
                "response": letter.lastResponse.map { String($0.prefix(200)) } ?? "", "failedAt": Self.time(letter.failedAtMilliseconds),
                "failedAge": Self.age(letter.failedAtMilliseconds, now: now),
            ]
        }
        let values: [String: Any] = [
            "title": "Dead letters", "letters": rows, "count": rows.count, "hasLetters": !rows.isEmpty, "more": letters.count >= limit,
            "destination": filter.destination ?? "", "since": query["since"].map(String.init) ?? "",
            "until": query["until"].map(String.init) ?? "", "type": filter.type ?? "",
            "notice": notice,
        ]
        return render("deadLetters", values, visit: visit)
    }

    private func lookup(_ request: Request, _ visit: ConsoleVisit) async throws -> Response {
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
                    "jobs": detail.jobs.enumerated().map { index, job -> [String: Any] in
                        ["index": index, "history": Self.attempts(job.history),
                         "destination": job.destination, "state": job.state, "attempts": job.attempts,
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
        return render("lookup", values, visit: visit, status: status)
    }

    /// A job's attempts as the event page lists them, oldest first.
    static func attempts(_ history: [StoredAttempt]) -> [[String: Any]] {
        history.enumerated().map { index, attempt in
            ["number": index + 1, "at": Self.time(attempt.startedAtMilliseconds), "duration": "\(attempt.durationMilliseconds) ms",
             "status": attempt.status.map(String.init) ?? "-", "outcome": attempt.outcome, "error": attempt.error ?? "-",
             "response": attempt.response ?? ""]
        }
    }

    private func replay(_ form: [String: String], _ visit: ConsoleVisit) async throws -> Response {
        let request: ReplayRequest
        if let id = form["id"] {
            guard let value = Int64(id) else { return problem("Bad request", "The dead letter id must be a number.", visit, status: .badRequest) }
            request = ReplayRequest(ids: [value], destination: nil)
        } else if form["all"] == "true" {
            let filter = try Self.filter(destination: form["destination"], since: form["since"], until: form["until"], type: form["type"])
            request = ReplayRequest(ids: nil, destination: filter.destination, sinceMilliseconds: filter.sinceMilliseconds,
                                    untilMilliseconds: filter.untilMilliseconds, type: filter.type)
        } else {
            return problem("Bad request", "Say which dead letters to replay.", visit, status: .badRequest)
        }
        let moved = try await request.apply(to: store, nowMilliseconds: Timestamp.nowMilliseconds())
        if moved > 0 { onReplay() }
        let filter = ["destination", "since", "until", "type"].compactMap { key in form[key].flatMap { $0.isEmpty ? nil : (key, $0) } }
        return Self.redirect(Self.link("/dead-letters", ConsoleNotice.replayed(moved).query + filter))
    }
}
