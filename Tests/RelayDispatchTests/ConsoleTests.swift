import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RelayCore
import RelayTestSupport
import Synchronization
import Testing

/// A browser's part for the console tests: one cookie jar, redirects not followed (the tests look at them).
final class ConsoleClient: Sendable {
    let base: String
    /// Cookies by name, as a browser keeps them (a `Max-Age=0` one removes its name).
    private let cookies = Mutex<[String: String]>([:])
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    struct Page: Sendable {
        var status: Int
        var location: String?
        var setCookie: String?
        var setCookies: [String] = []
        var headers: HTTPHeaders = [:]
        var html: String
        /// The first CSRF token a form of the page carries.
        var csrf: String? {
            guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    init(base: String) { self.base = base }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Page { try await send(path, method: .GET, form: nil, headers: headers) }
    func post(_ path: String, _ form: [(String, String)]) async throws -> Page { try await send(path, method: .POST, form: form) }

    private func send(_ path: String, method: HTTPMethod, form: [(String, String)]?, headers: [(String, String)] = []) async throws -> Page {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let jar = cookies.withLock { $0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        if !jar.isEmpty { request.headers.add(name: "Cookie", value: jar) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let body = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await Self.client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 4 << 20)
        let setCookies = response.headers["Set-Cookie"]
        for line in setCookies {
            guard let pair = line.split(separator: ";").first, let equals = pair.firstIndex(of: "=") else { continue }
            let (name, value) = (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
            let removed = value.isEmpty || line.lowercased().contains("max-age=0") || line.lowercased().contains("expires=thu, 01 jan 1970")
            cookies.withLock { $0[name] = removed ? nil : value }
        }
        return Page(status: Int(response.status.code), location: response.headers["Location"].first, setCookie: setCookies.first,
                    setCookies: setCookies, headers: response.headers, html: String(buffer: body))
    }
}

extension DeliveryEngine {
    /// The operator console (SPEC section 11) against a real `relay serve`: sign-in, the CSRF rule, the overview,
    /// dead letters replayed by filter, event and message lookup.
    @Suite("Console")
    struct ConsoleTests {
        static let secret = "line-console-secret"
        static let token = "console-admin-token"

        static func yaml(receiver: Int) -> String {
            """
            retry: [100ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
              eightxeight:
                provider: 8x8
                auth:
                  bearer: eight-console
            destinations:
              crm:
                url: http://127.0.0.1:\(receiver)/hook/crm
                breaker: off
              other:
                url: http://127.0.0.1:\(receiver)/hook/other
                breaker: off
            routes:
              - to: [crm, other]

            """
        }

        /// A relay whose two destinations refuse everything (dead letters for both), with its admin token.
        static func withConsole(_ body: (RelayProcesses, ConsoleClient, [String]) async throws -> Void) async throws {
            try await Receiver.with({ _ in Reply(status: .internalServerError, body: Array("backend says no".utf8)) }) { receiver in
                try await ReceiptLedgerTests.withRelays(Self.yaml(receiver: receiver.port)) { relays in
                    _ = try await relays.start(environment: ["RELAY_ADMIN_TOKEN": Self.token])
                    let ids = (0..<4).map { _ in LINE.eventID() }
                    for id in ids {
                        let event = LINE.body([LINE.deliveryEvent(id: id, data: "tag-\(id)")])
                        #expect(try await post(relays.webhookURL("line"), body: event, headers: [("X-Line-Signature", LINE.signature(event, secret: Self.secret))]).status == 200)
                    }
                    let stats = { await get("http://127.0.0.1:\(relays.adminPort)/admin/stats", headers: [("Authorization", "Bearer \(Self.token)")]) }
                    #expect(await eventually(timeout: .seconds(10)) { (await stats())?.body.components(separatedBy: "\"dead\":4").count == 3 })
                    try await body(relays, ConsoleClient(base: "http://127.0.0.1:\(relays.adminPort)"), ids)
                }
            }
        }

        static func signIn(_ browser: ConsoleClient) async throws {
            let login = try await browser.get("/login")
            let signedIn = try await browser.post("/login", [("csrf", login.csrf ?? ""), ("token", Self.token)])
            #expect(signedIn.status == 303 && signedIn.location == "/")
        }

        static func dead(_ relays: RelayProcesses, _ destination: String) async -> Int64? {
            guard let reply = await get("http://127.0.0.1:\(relays.adminPort)/admin/stats", headers: [("Authorization", "Bearer \(Self.token)")]) else { return nil }
            return (try? JSONParser.parse(Array(reply.body.utf8)))?["destinations"]?.arrayValue?.first { $0["destination"]?.stringValue == destination }?["dead"]?.int64Value
        }

        @Test func signInRefusesAWrongTokenAndTheSessionCookieIsStrict() async throws {
            try await Self.withConsole { _, browser, _ in
                #expect(try await browser.get("/").location == "/login")
                let login = try await browser.get("/login")
                #expect(login.status == 200 && login.html.contains(#"<label for="token">Admin token</label>"#))
                let cookie = try #require(login.setCookie)
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "\(cookie)")
                let wrong = try await browser.post("/login", [("csrf", login.csrf ?? ""), ("token", "guess")])
                #expect(wrong.status == 401 && wrong.html.contains("That is not the admin token."))
                #expect(try await browser.get("/").location == "/login")
                // Without the form's CSRF token even the right admin token is refused.
                #expect(try await browser.post("/login", [("token", Self.token)]).status == 403)
                try await Self.signIn(browser)
                let overview = try await browser.get("/")
                #expect(overview.status == 200)
                #expect(overview.html.contains("<th scope=\"row\">crm</th>") && overview.html.contains("Store: sqlite"))
                // The charts: inline SVG per destination and source, a reload every 10 s, the CSP untouched.
                #expect(overview.html.contains(#"<meta http-equiv="refresh" content="10">"#) && overview.html.contains("Charts drawn at"))
                #expect(overview.html.contains(#"id="chart-destination-crm""#) && overview.html.contains(#"id="chart-source-line""#))
                // Four events, each refused twice (`retry: [100ms]`), summed over the minutes they fell in.
                #expect(ConsolePicturesBrowserTests.sum(overview.html, chart: "chart-destination-crm", label: "failed attempts") == 8)
                #expect(ConsolePicturesBrowserTests.sum(overview.html, chart: "chart-destination-crm", label: "delivered") == 0)
                #expect(ConsolePicturesBrowserTests.sum(overview.html, chart: "chart-source-line", label: "accepted") == 4)
                #expect(overview.headers["Content-Security-Policy"].first == "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
                let signOut = try await browser.post("/logout", [("csrf", overview.csrf ?? "")])
                #expect(signOut.status == 303 && signOut.location == "/login")
                #expect(try await browser.get("/").location == "/login")
            }
        }

        @Test func replayWithoutTheCSRFTokenChangesNothingAndWithItMovesExactlyTheFiltered() async throws {
            try await Self.withConsole { relays, browser, _ in
                try await Self.signIn(browser)
                let page = try await browser.get("/dead-letters?destination=crm")
                #expect(page.status == 200 && page.html.contains("4 shown"), "\(page.html.prefix(300))")
                #expect(page.html.contains("backend says no") && page.html.contains("HTTP 500"))
                let refused = try await browser.post("/dead-letters/replay", [("all", "true"), ("destination", "crm")])
                #expect(refused.status == 403)
                let forged = try await browser.post("/dead-letters/replay", [("csrf", "not-the-token"), ("all", "true"), ("destination", "crm")])
                #expect(forged.status == 403)
                let crmDead = await Self.dead(relays, "crm"), otherDead = await Self.dead(relays, "other")
                #expect(crmDead == 4 && otherDead == 4)
                // A type that matches none moves none; the destination filter moves only crm's.
                let none = try await browser.post("/dead-letters/replay", [("csrf", page.csrf ?? ""), ("all", "true"), ("destination", "crm"), ("type", "message.*")])
                #expect(none.status == 303 && none.location?.contains("notice=replayed&count=0") == true, "\(String(describing: none.location))")
                let moved = try await browser.post("/dead-letters/replay", [("csrf", page.csrf ?? ""), ("all", "true"), ("destination", "crm"), ("type", "delivery.*")])
                #expect(moved.status == 303 && moved.location?.contains("notice=replayed&count=4") == true, "\(String(describing: moved.location))")
                #expect(await Self.dead(relays, "other") == 4)
                // crm's fail again (the receiver still says no) and come back as dead letters: one replayed by id.
                #expect(await eventually(timeout: .seconds(10)) { await Self.dead(relays, "crm") == 4 })
                let again = try await browser.get("/dead-letters?destination=other")
                let id = try #require(again.html.range(of: #"name="id" value=""#).map { String(again.html[$0.upperBound...].prefix { $0 != "\"" }) })
                let one = try await browser.post("/dead-letters/replay", [("csrf", again.csrf ?? ""), ("id", id)])
                #expect(one.location?.contains("notice=replayed&count=1") == true)
                #expect(try await browser.get(one.location ?? "/").html.contains("Replayed 1 dead letter."))
                #expect(await Self.dead(relays, "other") == 3)
            }
        }

        @Test func lookupsShowWhatTheStoreHoldsAndUnknownIdsAreA404Page() async throws {
            try await Self.withConsole { relays, browser, ids in
                try await Self.signIn(browser)
                let event = try await browser.get("/lookup?source=line&event=\(ids[0])")
                #expect(event.status == 200)
                #expect(event.html.contains("Event \(ids[0]) (delivery.delivered") && event.html.contains("<th scope=\"row\">crm</th><td>dead</td>"))
                #expect(event.html.contains("&quot;specversion&quot;: &quot;1.0&quot;"), "the canonical JSON, escaped")
                let json = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/events/line/\(ids[0])", headers: [("Authorization", "Bearer \(Self.token)")]))
                let body = try JSONParser.parse(Array(json.body.utf8))
                #expect(body["event"]?["id"]?.stringValue == ids[0])
                #expect(body["deliveries"]?.arrayValue?.map { $0["state"]?.stringValue } == ["dead", "dead"])
                #expect(body["deliveries"]?.arrayValue?.first?["last_response"]?.stringValue == "backend says no")
                // Every attempt (SPEC section 17): `retry: [100ms]` makes two per job, both refused.
                let history = body["deliveries"]?.arrayValue?.first?["history"]?.arrayValue ?? []
                #expect(history.map { $0["status"]?.int64Value } == [500, 500] && history.map { $0["outcome"]?.stringValue } == ["pending", "dead"])
                #expect(history.allSatisfy { $0["response"]?.stringValue == "backend says no" && $0["error"]?.stringValue == "HTTP 500" })
                #expect(event.html.contains("Attempts to crm") && event.html.components(separatedBy: "<tr class=\"attempt\">").count == 5)
                // A message in the ledger.
                let umid = UUID().uuidString.lowercased()
                for state in ["queued", "read"] {
                    #expect(try await post(relays.webhookURL("eightxeight"), body: Array(EightByEightBodies.status(umid: umid, state: state).utf8),
                                           headers: [("Authorization", "Bearer eight-console")]).status == 200)
                }
                let message = try await browser.get("/lookup?source=eightxeight&message=\(umid)")
                #expect(message.status == 200 && message.html.contains("Message \(umid): read") && message.html.contains("whatsapp: read"))
                let unknown = try await browser.get("/lookup?source=line&event=no-such-event")
                #expect(unknown.status == 404 && unknown.html.contains("No event &quot;no-such-event&quot;"))
                #expect(try await browser.get("/lookup?source=eightxeight&message=nope").status == 404)
                #expect(await get("http://127.0.0.1:\(relays.adminPort)/admin/events/line/nope", headers: [("Authorization", "Bearer \(Self.token)")])?.status == 404)
                let bad = try await browser.get("/dead-letters?since=yesterday")
                #expect(bad.status == 400 && bad.html.contains("since must be an RFC 3339 time"))
            }
        }
    }
}
