import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import RelayCore
@testable import RelayServer
import Testing

extension DeliveryEngine {
    /// Console sessions and sign-in: bound to the token in force, a back-off on wrong tokens that leaves a log line,
    /// nothing stored before sign-in, a capped store that removes expired sessions itself.
    @Suite("Console sessions")
    struct ConsoleSessionTests {
        typealias Surface = AdminSurfaceTests
        static let tokenA = "first-admin-token-aaaaaaaaaaaaaaaa"
        static let tokenB = "second-admin-token-bbbbbbbbbbbbbbbb"

        static func signIn(_ browser: ConsoleClient, token: String) async throws -> ConsoleClient.Page {
            let login = try await browser.get("/login")
            return try await browser.post("/login", [("csrf", login.csrf ?? ""), ("token", token)])
        }

        @Test func aTokenChangedByReloadEndsTheSessionsSignedInWithTheOldOne() async throws {
            try await Receiver.with({ _ in .status(.internalServerError, body: "no") }) { receiver in
                try await ReceiptLedgerTests.withRelays("") { relays in
                    try relays.writeConfig("", raw: Surface.yaml(relays, receiver: receiver.port, token: Self.tokenA))
                    let process = try await relays.start()
                    let event = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
                    #expect(try await post(relays.webhookURL("line"), body: event, headers: [("X-Line-Signature", LINE.signature(event, secret: Surface.secret))]).status == 200)
                    let admin = "http://127.0.0.1:\(relays.adminPort)"
                    #expect(await eventually(timeout: .seconds(10)) { await Surface.dead(admin, token: Self.tokenA) == 1 })
                    let browser = ConsoleClient(base: admin)
                    #expect(try await Self.signIn(browser, token: Self.tokenA).location == "/")
                    let page = try await browser.get("/dead-letters")
                    #expect(page.status == 200 && page.html.contains("1 shown"))
                    // The token changes by reload.
                    try relays.writeConfig("", raw: Surface.yaml(relays, receiver: receiver.port, token: Self.tokenB))
                    kill(process.processIdentifier, SIGHUP)
                    #expect(await eventually(timeout: .seconds(10)) { await get(admin + "/admin/stats", headers: Surface.authorization(Self.tokenB))?.status == 200 })
                    #expect(await get(admin + "/admin/stats", headers: Surface.authorization(Self.tokenA))?.status == 401)
                    // The session signed in with A is over: its replay form changes nothing, its pages ask to sign in.
                    let replay = try await browser.post("/dead-letters/replay", [("csrf", page.csrf ?? ""), ("all", "true")])
                    #expect(replay.status == 303 && replay.location == "/login", "\(replay.status) \(String(describing: replay.location))")
                    #expect(await Surface.dead(admin, token: Self.tokenB) == 1, "the old session's replay moved a dead letter")
                    #expect(try await browser.get("/dead-letters").location == "/login")
                    #expect(try await Self.signIn(browser, token: Self.tokenA).status == 401)
                    #expect(try await Self.signIn(browser, token: Self.tokenB).location == "/")
                    #expect(try await browser.get("/dead-letters").status == 200)
                }
            }
        }

        @Test func wrongTokensBackOffPerAddressAndEachLeavesALogLineWithoutTheToken() async throws {
            try await Surface.withRelay(token: Self.tokenA, dead: 0) { relays, admin in
                let browser = ConsoleClient(base: admin)
                let guesses = (1...6).map { "guess-\($0)-\(UUID().uuidString)" }
                for (index, guess) in guesses.enumerated() {
                    let reply = try await Self.signIn(browser, token: guess)
                    #expect(reply.status == 401, "guess \(index + 1)")
                    #expect(reply.html.contains("That is not the admin token."))
                    if index == 5 { #expect(reply.html.contains("try again in 1 s"), "the sixth locks the address out") }
                }
                // Locked out: the right token is not even compared, on the console or the API (one back-off for both).
                let locked = try await Self.signIn(browser, token: Self.tokenA)
                #expect(locked.status == 429 && locked.headers["Retry-After"] == ["1"], "\(locked.status)")
                #expect(locked.html.contains("Too many wrong tokens from your address"))
                #expect(await get(admin + "/admin/stats", headers: Surface.authorization(Self.tokenA))?.status == 429)
                // Each wrong token left one line: where from and how many, never what was typed.
                let log = try String(contentsOfFile: relays.logPath, encoding: .utf8)
                let lines = log.split(separator: "\n").filter { $0.contains("admin token refused") }
                #expect(lines.count == 6, "\(lines)")
                #expect(lines.allSatisfy { $0.contains(#""client.address":"127.0.0.1""#) && $0.contains(#""auth.surface":"console""#) })
                #expect(lines.last?.contains(#""auth.failures":6"#) == true && lines.last?.contains(#""auth.locked_seconds":1"#) == true, "\(lines.last ?? "")")
                for guess in guesses { #expect(!log.contains(guess)) }
                #expect(!log.contains(Self.tokenA))
                // The lock ends: the right token works and clears the address.
                #expect(await eventually(timeout: .seconds(5), poll: .milliseconds(100)) { try await Self.signIn(browser, token: Self.tokenA).location == "/" })
                #expect(try await browser.get("/").status == 200)
            }
        }

        /// An in-process admin router with a token (or none) and its own session store.
        static func withConsole(token: String?, _ body: @Sendable (any TestClientProtocol, ConsoleSessionStore) async throws -> Void) async throws {
            try await Engine.with(yaml: lineToCRMYAML(secret: "s", receiver: "http://127.0.0.1:9/x", retry: "[1s]")) { engine in
                // `relay serve` runs its session store as a service, so expired sessions go without a request asking.
                #expect(engine.application.services.contains { $0 is ConsoleSessionStore })
                var config = engine.config.current
                config.adminToken = token
                let live = LiveConfig(config)
                let sessions = ConsoleSessionStore()
                let router = Routers.admin(config: live, store: engine.store, registry: PrometheusCollectorRegistry(), sessions: sessions)
                try await Application(router: router, logger: quietLogger("admin")).test(.router) { client in try await body(client, sessions) }
            }
        }

        @Test func noSessionIsStoredBeforeSignInAndWithoutATokenNoneAtAll() async throws {
            try await Self.withConsole(token: Self.tokenA) { client, sessions in
                for _ in 0..<300 {
                    #expect(try await client.execute(uri: "/login", method: .get).status == .ok)
                    #expect(try await client.execute(uri: "/", method: .get).status == .seeOther)
                }
                #expect(await sessions.count == 0, "sessions stored before sign-in")
                // The sign-in form's CSRF token rides on the signed cookie: sign-in works, and stores one session.
                let login = try await client.execute(uri: "/login", method: .get)
                let cookie = try #require(login.headers[.setCookie]).split(separator: ";")[0]
                let html = String(buffer: login.body)
                let csrf = try #require(html.range(of: #"name="csrf" value=""#).map { String(html[$0.upperBound...].prefix { $0 != "\"" }) })
                #expect(cookie.hasPrefix("relay_console_csrf=") && cookie.contains(csrf))
                let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: String(cookie)]
                let forged = try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "csrf=x\(csrf)&token=\(Self.tokenA)"))
                #expect(forged.status == .forbidden)
                let altered = String(cookie.dropLast()) + (cookie.last == "0" ? "1" : "0")
                let tampered = try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded", .cookie: altered],
                                                        body: ByteBuffer(string: "csrf=\(csrf)&token=\(Self.tokenA)"))
                #expect(tampered.status == .forbidden, "a cookie whose signature does not match")
                #expect(await sessions.count == 0)
                let signedIn = try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(csrf)&token=\(Self.tokenA)"))
                #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/")
                #expect(await sessions.count == 1)
            }
            try await Self.withConsole(token: nil) { client, sessions in
                for _ in 0..<300 { #expect(try await client.execute(uri: "/", method: .get).status == .ok) }
                #expect(await sessions.count == 0, "loopback without a token stores nothing")
                // Its forms still need the signed cookie's CSRF token.
                let page = try await client.execute(uri: "/dead-letters", method: .get)
                let cookie = try #require(page.headers[.setCookie]).split(separator: ";")[0]
                #expect(!String(buffer: page.body).contains(#"action="/logout""#), "nobody signed in, nobody signs out")
                // No dead letters here, so no form on the page: the token is the signed cookie's (as a form would carry it).
                let csrf = String(cookie.split(separator: "=", maxSplits: 1)[1].prefix { $0 != "." })
                let noCookie = try await client.execute(uri: "/dead-letters/replay", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                        body: ByteBuffer(string: "csrf=\(csrf)&all=true"))
                #expect(noCookie.status == .forbidden)
                let withCookie = try await client.execute(uri: "/dead-letters/replay", method: .post,
                                                          headers: [.contentType: "application/x-www-form-urlencoded", .cookie: String(cookie)],
                                                          body: ByteBuffer(string: "csrf=\(csrf)&all=true"))
                #expect(withCookie.status == .seeOther && withCookie.headers[.location]?.hasPrefix("/dead-letters?notice=replayed&count=0") == true)
            }
        }

        @Test func theSessionStoreIsCappedAndItsServiceRemovesExpiredSessions() async throws {
            let store = ConsoleSessionStore(capacity: 3, tidyInterval: .milliseconds(20))
            for index in 0..<5 { try await store.create(key: "s\(index)", value: "v\(index)", expires: .seconds(60 + index)) }
            #expect(await store.count == 3)
            #expect(try await store.get(key: "s0", as: String.self) == nil, "the one closest to expiring made room")
            #expect(try await store.get(key: "s4", as: String.self) == "v4")
            try await store.create(key: "short", value: "x", expires: .milliseconds(1))
            #expect(await store.count == 3)
            // Run as a service, it removes what expired (the short one) without being asked.
            let service = Task { try await store.run() }
            #expect(await eventually(timeout: .seconds(5)) { await store.count == 2 })
            service.cancel()
        }

        @Test func theBackOffLetsFiveThroughThenDoublesUpToAMinuteAndForgets() {
            #expect((1...5).map { SignInThrottle.lock(afterFailures: $0) } == [nil, nil, nil, nil, nil])
            #expect((6...14).map { SignInThrottle.lock(afterFailures: $0) } == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
            #expect(SignInThrottle.lock(afterFailures: 10_000) == .seconds(60))
            let throttle = SignInThrottle()
            let start = ContinuousClock.now
            for _ in 0..<6 { throttle.failed("192.0.2.1", now: start) }
            #expect(throttle.wait("192.0.2.1", now: start) == .seconds(1))
            #expect(throttle.wait("192.0.2.2", now: start) == nil, "per address")
            #expect(throttle.wait("192.0.2.1", now: start + .seconds(1)) == nil)
            #expect(throttle.failed("192.0.2.1", now: start + .seconds(1)).lock == .seconds(2))
            #expect(throttle.failed("192.0.2.1", now: start + .seconds(1000)).failures == 1, "forgotten after 15 minutes")
            throttle.succeeded("192.0.2.1")
            #expect(throttle.failed("192.0.2.1", now: start).failures == 1)
        }
    }
}
