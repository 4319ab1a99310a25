import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import RelayCore
import RelayServer
import RelayTestSupport
import Testing

extension DeliveryEngine {
    /// What the console shows and links, against hostile values: provider fields and a backend's answer rendered on
    /// every page inject no element or attribute, links are URL-encoded, the banner says only fixed texts, and the
    /// dead-letter type filter (page and replay) finds every match however far on it is.
    @Suite("Console inputs")
    struct ConsoleInputTests {
        static let secret = "line-inputs-secret"
        /// Breaks out of text, of either quoted attribute and of a `<textarea>`, adds an element and an attribute, and
        /// changes a query if it lands in a link unencoded. Lowercase: 8x8 fields are lowercased.
        static let hostile = #"x"'><relayx-injected data-relayx-injected="1"></textarea>&message=y#z"#

        static func yaml(receiver: Int) -> String {
            """
            retry: [50ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
              eightxeight:
                provider: 8x8
                auth:
                  bearer: eight-inputs
            destinations:
              crm:
                url: http://127.0.0.1:\(receiver)/hook/crm
                breaker: off
            routes:
              - to: [crm]
            """
        }

        /// An in-process engine whose `crm` answers 500 with `answer`, and a test client on its admin router (no token,
        /// loopback: the console is open).
        static func withConsole(answer: String, _ body: @Sendable (any TestClientProtocol, Engine) async throws -> Void) async throws {
            try await Receiver.with({ _ in .status(.internalServerError, body: answer) }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.port)) { engine in
                    let router = Routers.admin(config: engine.config, store: engine.store, registry: PrometheusCollectorRegistry(),
                                               controls: DestinationControls(store: engine.store, dispatcher: engine.dispatcher))
                    try await Application(router: router, logger: quietLogger("admin")).test(.router) { client in try await body(client, engine) }
                }
            }
        }

        static func page(_ client: any TestClientProtocol, _ uri: String) async throws -> (status: HTTPResponse.Status, html: String) {
            let response = try await client.execute(uri: uri, method: .get)
            return (response.status, String(buffer: response.body))
        }

        static func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreservedCharacters) ?? "" }

        /// A JSON string's inside (the test builds provider bodies by hand).
        static func json(_ text: String) -> String { String(String(decoding: JSONWriter.serialize(.string(text)), as: UTF8.self).dropFirst().dropLast()) }

        @Test func hostileProviderValuesOnEveryPageInjectNoElementOrAttribute() async throws {
            try await Self.withConsole(answer: Self.hostile) { client, engine in
                let eventID = "ev-" + Self.hostile
                let event = #"{"type":"\#(Self.json(Self.hostile))","webhookEventId":"\#(Self.json(eventID))","deliveryContext":{"isRedelivery":false},"timestamp":\#(Timestamp.nowMilliseconds()),"mode":"active"}"#
                #expect(try await engine.postLINE(LINE.body([event]), secret: Self.secret).status == 200)
                let umid = "um-" + Self.hostile
                let receipt = EightByEightBodies.status(umid: Self.json(umid), state: Self.json(Self.hostile), detail: Self.json(Self.hostile), channel: Self.json(Self.hostile))
                #expect(try await post(engine.webhookURL("eightxeight"), body: Array(receipt.utf8), headers: [("Authorization", "Bearer eight-inputs")]).status == 200)
                #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").dead == 2 })
                let h = Self.encoded(Self.hostile)
                let pages: [(uri: String, shows: Bool)] = [
                    ("/", false), ("/dead-letters", true),  // the overview shows "HTTP 500", not the answer ("/dead-letters?destination=crm&type=line.*", true),
                    ("/dead-letters?destination=\(h)&type=\(h)&since=&until=", true), ("/dead-letters?since=\(h)", false),
                    ("/lookup?source=line&event=\(Self.encoded(eventID))", true), ("/lookup?source=eightxeight&message=\(Self.encoded(umid))", true),
                    ("/lookup?source=\(h)&event=\(h)&message=\(h)", true), ("/login", false),
                ]
                for (uri, shows) in pages {
                    let (status, html) = try await Self.page(client, uri)
                    #expect(status.code < 500, "\(uri): \(status)")
                    #expect(!html.contains("<relayx"), "\(uri): an element was injected")
                    #expect(!html.contains(#"data-relayx-injected=""#) && !html.contains("data-relayx-injected='"), "\(uri): an attribute was injected")
                    #expect(!html.contains("</textarea>&"), "\(uri)")
                    if shows { #expect(html.contains("&lt;relayx-injected"), "\(uri): the hostile value was not rendered at all, so this page proved nothing") }
                }
                // The dead letters link to their events URL-encoded (HTML-escaping alone would let `&message=` change the lookup).
                let (_, letters) = try await Self.page(client, "/dead-letters?destination=crm")
                let href = "/lookup?source=line&amp;event=" + Self.encoded(eventID)
                #expect(letters.contains(#"href="\#(href)""#), "no encoded link to \(eventID)")
                let (status, found) = try await Self.page(client, href.replacingOccurrences(of: "&amp;", with: "&"))
                #expect(status == .ok && found.contains("&lt;relayx-injected") && !found.contains("No event"), "the link finds its event")
            }
        }

        @Test func theBannerShowsOnlyFixedTextsForFixedCodes() async throws {
            try await Self.withConsole(answer: "no") { client, _ in
                let (_, replayed) = try await Self.page(client, "/dead-letters?notice=replayed&count=3")
                #expect(replayed.contains(#"<p class="notice" role="status">Replayed 3 dead letters.</p>"#))
                for query in ["notice=Your%20session%20expired%2C%20call%20%2B1%20555", "notice=replayed&count=3%20and%20call%20us", "notice=replayed", "notice=replayed&count=-1"] {
                    let (_, html) = try await Self.page(client, "/dead-letters?\(query)")
                    #expect(!html.contains(#"class="notice""#), "\(query)")
                    #expect(!html.contains("call"), "\(query)")
                }
            }
        }

        @Test func theTypeFilterFindsMatchesBeyondThePageLimitOnThePageAndInAReplay() async throws {
            try await Self.withConsole(answer: "no") { client, engine in
                // 240 dead letters of one type fail first, then 3 of another: the 3 lie beyond the page's first 200.
                for _ in 0..<4 {
                    let events = (0..<60).map { _ in LINE.deliveryEvent(id: LINE.eventID()) }
                    #expect(try await engine.postLINE(LINE.body(events), secret: Self.secret).status == 200)
                }
                #expect(await eventually(timeout: .seconds(20)) { try await engine.stats("crm").dead == 240 })
                let follows = (0..<3).map { _ in LINE.followEvent(id: LINE.eventID()) }
                #expect(try await engine.postLINE(LINE.body(follows), secret: Self.secret).status == 200)
                #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").dead == 243 })
                let (_, page) = try await Self.page(client, "/dead-letters?type=line.follow")
                #expect(page.contains("3 shown"), "\(page.components(separatedBy: "<h2 id=\"letters\">").last?.prefix(40) ?? "")")
                #expect(page.components(separatedBy: "<td>line.follow</td>").count == 4)
                let (_, all) = try await Self.page(client, "/dead-letters")
                #expect(all.contains("200 shown (the first 200)"))
                // A filtered replay reads a page at a time: pages of 2 here, every match moved, none of the others.
                let replay = ReplayRequest(ids: nil, destination: "crm", type: "line.follow")
                #expect(try await replay.apply(to: engine.store, nowMilliseconds: Timestamp.nowMilliseconds(), pageSize: 2) == 3)
                let left = try await engine.store.deadLetters(destination: "crm", limit: 10_000)
                #expect(left.count == 240 && left.allSatisfy { $0.type == "delivery.delivered" })
                // The glob is matched as relay matches it, with SQLite's own class syntax kept literal.
                #expect(try await engine.store.deadLetters(destination: nil, sinceMilliseconds: nil, untilMilliseconds: nil, type: "delivery.[d]*", limit: 10).isEmpty)
                #expect(try await engine.store.deadLetters(destination: nil, sinceMilliseconds: nil, untilMilliseconds: nil, type: "Delivery.*", limit: 10).isEmpty)
                #expect(try await engine.store.deadLetters(destination: nil, sinceMilliseconds: nil, untilMilliseconds: nil, type: "d?livery.*", limit: 10).count == 10)
            }
        }
    }
}
