import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RelayCore
import Testing

extension DeliveryEngine {
    /// The admin listener against a browser's ways, over HTTP to a real `relay serve`: only the `Host` names it is meant
    /// for (DNS rebinding), state changes only as `application/json` (no "simple" cross-site request), the safety
    /// headers on every answer, percent-decoded path segments.
    @Suite("Admin surface")
    struct AdminSurfaceTests {
        static let secret = "line-surface-secret"
        static let token = "surface-admin-token-0123456789abcdef"

        /// The whole routes.yaml: `token` (empty for none), `admin.hosts`, a LINE source and a `demo` destination that
        /// refuses everything (dead letters).
        static func yaml(_ relays: RelayProcesses, receiver: Int, token: String, hosts: [String] = []) -> String {
            """
            listen: 127.0.0.1:\(relays.listenPort)
            admin:
              listen: 127.0.0.1:\(relays.adminPort)
              token: "\(token)"
            \(hosts.isEmpty ? "" : "  hosts: [\(hosts.joined(separator: ", "))]")
            store:
              \(relays.storeYAML)
            retry: [100ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
                expect_receipt: 24h
            destinations:
              demo:
                url: http://127.0.0.1:\(receiver)/hook/demo
                breaker: off
            routes:
              - to: [demo]

            """
        }

        /// A relay with `dead` dead letters for `demo`, configured by `yaml(token:hosts:)`.
        static func withRelay(token: String, hosts: [String] = [], dead: Int = 2, eventIDs: [String]? = nil,
                              _ body: (RelayProcesses, String) async throws -> Void) async throws {
            try await Receiver.with({ _ in .status(.internalServerError, body: "no") }) { receiver in
                try await ReceiptLedgerTests.withRelays("") { relays in
                    try relays.writeConfig("", raw: Self.yaml(relays, receiver: receiver.port, token: token, hosts: hosts))
                    _ = try await relays.start()
                    let ids = eventIDs ?? (0..<dead).map { _ in LINE.eventID() }
                    for id in ids {
                        let event = LINE.body([LINE.deliveryEvent(id: ConsoleInputTests.json(id), data: "tag-\(UUID().uuidString)")])
                        #expect(try await post(relays.webhookURL("line"), body: event, headers: [("X-Line-Signature", LINE.signature(event, secret: Self.secret))]).status == 200)
                    }
                    let admin = "http://127.0.0.1:\(relays.adminPort)"
                    #expect(await eventually(timeout: .seconds(10)) { await Self.dead(admin, token: token) == ids.count })
                    try await body(relays, admin)
                }
            }
        }

        static func authorization(_ token: String) -> [(String, String)] { token.isEmpty ? [] : [("Authorization", "Bearer \(token)")] }

        static func dead(_ admin: String, token: String) async -> Int? {
            guard let reply = await get(admin + "/admin/dead-letters", headers: authorization(token)) else { return nil }
            return (try? JSONParser.parse(Array(reply.body.utf8)))?.arrayValue?.count
        }

        static func state(_ admin: String, token: String) async -> String? {
            guard let reply = await get(admin + "/admin/destinations", headers: authorization(token)) else { return nil }
            return (try? JSONParser.parse(Array(reply.body.utf8)))?.arrayValue?.first?["state"]?.stringValue ?? "closed"
        }

        /// A request with exactly these headers (`Host` included) and body; status, headers, body.
        static func send(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: String? = nil) async throws
            -> (status: Int, headers: HTTPHeaders, body: String) {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await ConsoleClient.client.execute(request, timeout: .seconds(10))
            let text = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), response.headers, String(buffer: text))
        }

        /// The headers every answer of the admin listener carries, exactly.
        static let safetyHeaders = [
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
        ]

        static func expectSafetyHeaders(_ headers: HTTPHeaders, _ what: String) {
            for (name, value) in safetyHeaders { #expect(headers[name] == [value], "\(what): \(name)") }
        }

        @Test func onlyTheListenersOwnHostNamesAreAnsweredOnEveryPathAndEveryAnswerCarriesTheSafetyHeaders() async throws {
            try await Self.withRelay(token: Self.token, hosts: ["relay-admin.internal"]) { relays, admin in
                let port = relays.adminPort
                let auth = Self.authorization(Self.token)
                let paths = ["/", "/login", "/dead-letters", "/console.css", "/metrics", "/healthz", "/readyz", "/admin/stats", "/admin/dead-letters", "/nowhere"]
                for host in ["rebind.test:\(port)", "rebind.test", "127.0.0.1.rebind.test:\(port)", "localhost.rebind.test:\(port)", "10.9.8.7:\(port)"] {
                    for path in paths {
                        let reply = try await Self.send(admin + path, headers: [("Host", host)] + auth)
                        #expect(reply.status == 421, "Host \(host) \(path): \(reply.status)")
                        #expect(!reply.body.contains("relay_") && !reply.body.contains("Sign in") && !reply.body.contains("\"destination\""))
                        Self.expectSafetyHeaders(reply.headers, "421 for \(host)\(path)")
                    }
                    let replay = try await Self.send(admin + "/admin/dead-letters/replay", method: .POST,
                                                     headers: [("Host", host), ("Content-Type", "application/json")] + auth, body: #"{"all":true}"#)
                    #expect(replay.status == 421)
                }
                #expect(await Self.dead(admin, token: Self.token) == 2, "a refused Host changed nothing")
                for host in ["127.0.0.1:\(port)", "localhost:\(port)", "relay-admin.internal:\(port)", "RELAY-ADMIN.internal."] {
                    #expect(try await Self.send(admin + "/metrics", headers: [("Host", host)]).status == 200, "\(host)")
                    #expect(try await Self.send(admin + "/admin/stats", headers: [("Host", host)] + auth).status == 200, "\(host)")
                    #expect(try await Self.send(admin + "/login", headers: [("Host", host)]).status == 200, "\(host)")
                }
                // The safety headers, on a console page, a redirect, JSON, an error and the stylesheet.
                for (path, headers) in [("/login", []), ("/", []), ("/admin/stats", auth), ("/admin/stats", []), ("/console.css", [])] as [(String, [(String, String)])] {
                    Self.expectSafetyHeaders(try await Self.send(admin + path, headers: headers).headers, path)
                }
            }
        }

        @Test func stateChangingAdminRequestsTakeOnlyJSONSoNoSimpleCrossSiteRequestChangesAnything() async throws {
            // As in the finding: no token, on loopback.
            try await Self.withRelay(token: "") { relays, admin in
                let writes: [(path: String, body: String)] = [
                    ("/admin/destinations/demo/pause", ""), ("/admin/destinations/demo/pause", #"{"until":"2099-01-01T00:00:00Z"}"#),
                    ("/admin/dead-letters/replay", #"{"all":true}"#),
                    ("/admin/expectations", #"{"source":"line","expectations":[{"key":"cross-site-key"}]}"#),
                ]
                for (path, body) in writes {
                    for type in [nil, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", "json"] as [String?] {
                        let reply = try await Self.send(admin + path, method: .POST, headers: type.map { [("Content-Type", $0)] } ?? [], body: body)
                        #expect(reply.status == 415, "\(path) as \(type ?? "no type"): \(reply.status)")
                        #expect(reply.body.contains("Content-Type: application/json"))
                    }
                }
                #expect(await Self.state(admin, token: "") == "closed", "a refused pause paused")
                #expect(await Self.dead(admin, token: "") == 2, "a refused replay replayed")
                #expect(await get(admin + "/admin/messages/line/cross-site-key")?.status == 404, "a refused expectation was stored")
                // As JSON (any case, with a charset) each one does what it says: the checks above could fail.
                let json = [("Content-Type", "Application/JSON; charset=utf-8")]
                #expect(try await Self.send(admin + "/admin/expectations", method: .POST, headers: json, body: writes[3].body).status == 200)
                #expect(await get(admin + "/admin/messages/line/cross-site-key")?.status == 200)
                #expect(try await Self.send(admin + "/admin/destinations/demo/pause", method: .POST, headers: json).status == 200)
                #expect(await Self.state(admin, token: "") == "paused")
                #expect(try await Self.send(admin + "/admin/destinations/demo/resume", method: .POST, headers: json).status == 200)
                let replay = try await Self.send(admin + "/admin/dead-letters/replay", method: .POST, headers: json, body: #"{"all":true}"#)
                #expect(replay.status == 200 && replay.body.contains(#""replayed":2"#), "\(replay.body)")
            }
        }

        @Test func relayCheckWarnsOfAShortTokenWithoutShowingItAndListsTheHosts() async throws {
            let directory = try TempDirectory()
            defer { directory.remove() }
            let path = directory.file("routes.yaml")
            let yaml = { (token: String) in
                "admin:\n  token: \"\(token)\"\n  hosts: [relay-admin.internal]\nsources:\n  line: { provider: line, channel_secret: abc }\n"
            }
            try yaml("a").write(toFile: path, atomically: true, encoding: .utf8)
            let short = try await runRelayCommand(["check", "--config", path])
            #expect(short.status == 0, "\(short.stderr)")
            #expect(short.stderr.contains("admin.token") && short.stderr.contains("the token is 1 characters long; use at least 24"), "\(short.stderr)")
            #expect(short.stdout.contains("also answers Host relay-admin.internal"), "\(short.stdout)")
            try yaml(Self.token).write(toFile: path, atomically: true, encoding: .utf8)
            let long = try await runRelayCommand(["check", "--config", path])
            #expect(long.status == 0 && !long.stderr.contains("admin.token") && !long.stdout.contains(Self.token), "\(long.stderr)")
        }

        @Test func pathSegmentsArePercentDecoded() async throws {
            let id = "ev/1 &message=x%41"
            try await Self.withRelay(token: Self.token, eventIDs: [id]) { relays, admin in
                let encoded = id.addingPercentEncoding(withAllowedCharacters: unreservedCharacters) ?? ""
                let reply = try #require(await get(admin + "/admin/events/line/" + encoded, headers: Self.authorization(Self.token)))
                #expect(reply.status == 200, "\(reply.body)")
                #expect((try? JSONParser.parse(Array(reply.body.utf8)))?["event"]?["id"]?.stringValue == id)
                // Sent raw: an HTTP client library would re-encode a bad escape itself.
                for bad in ["%zz", "%C3%28", "%4"] {
                    let connection = try RawConnection(port: relays.adminPort)
                    _ = connection.send("GET /admin/events/line/\(bad) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Self.token)\r\nConnection: close\r\n\r\n")
                    let answer = connection.receive(timeout: .seconds(5), until: "}")
                    #expect(answer.hasPrefix("HTTP/1.1 400") && answer.contains("not valid percent-encoded"), "\(bad): \(answer.prefix(300))")
                }
            }
        }
    }
}

/// RFC 3986's unreserved characters (what a query or path value may hold unencoded).
let unreservedCharacters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
