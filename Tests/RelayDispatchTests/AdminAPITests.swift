import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import RelayCore
import RelayServer
import Testing

extension DeliveryEngine {
    /// The admin API over a live engine: token, stats, dead letters by destination, replay by id and all.
    @Suite struct AdminAPI {
        static let secret = "line-admin-secret"

        static func yaml(receiver port: Int) -> String {
            """
            admin:
              token: s3cret
            retry: [100ms]
            sources:
              line:
                provider: line
                channel_secret: \(secret)
            destinations:
              crm:
                url: http://127.0.0.1:\(port)/crm
                breaker: off                  # these tests make dead letters of a failing destination
              other:
                url: http://127.0.0.1:\(port)/other
                breaker: off
            routes:
              - to: [crm, other]
            """
        }

        static let auth: HTTPFields = [.authorization: "Bearer s3cret"]
        /// For a state-changing request: the token and the only content type the admin API takes for one.
        static let post: HTTPFields = [.authorization: "Bearer s3cret", .contentType: "application/json"]

        static func json(_ response: TestResponse) throws -> JSONValue {
            try JSONParser.parse(Array(buffer: response.body))
        }

        static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

        @Test func tokenStatsDeadLettersAndReplay() async throws {
            try await AdminInputs.withDeadLetters { client, engine, receiver in
                try await Self.exercise(client, engine: engine, receiver: receiver)
            }
        }

        static func exercise(_ client: any TestClientProtocol, engine: Engine, receiver: Receiver) async throws {
            // The token: missing, wrong, wrong scheme, right. (Fewer than the sign-in back-off's five free failures.)
            for path in ["/admin/stats", "/admin/dead-letters"] {
                #expect(try await client.execute(uri: path, method: .get, headers: [:]).status == .unauthorized)
            }
            for headers: HTTPFields in [[.contentType: "application/json"], [.authorization: "Bearer wrong", .contentType: "application/json"],
                                        [.authorization: "Basic s3cret", .contentType: "application/json"],
                                        [.authorization: "Bearer s3cret2", .contentType: "application/json"]] {
                let replay = try await client.execute(uri: "/admin/dead-letters/replay", method: .post, headers: headers, body: body(#"{"all":true}"#))
                #expect(replay.status == .unauthorized)
            }
            #expect(try await engine.stats("crm").dead == 2, "an unauthorized replay moved something")
            // The scraper needs no token.
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .ok)

            let stats = try await client.execute(uri: "/admin/stats", method: .get, headers: auth)
            #expect(stats.status == .ok)
            let statsJSON = try json(stats)
            let destinations = try #require(statsJSON["destinations"]?.arrayValue)
            #expect(destinations.compactMap { $0["destination"]?.stringValue } == ["crm", "other"])
            for d in destinations {
                #expect(d["dead"]?.int64Value == 2 && d["pending"]?.int64Value == 0 && d["in_flight"]?.int64Value == 0)
            }
            #expect(statsJSON["events"]?.int64Value == 2)

            let letters = try await client.execute(uri: "/admin/dead-letters?destination=crm", method: .get, headers: auth)
            #expect(letters.status == .ok)
            let crm = try #require(try json(letters).arrayValue)
            #expect(crm.count == 2)
            #expect(crm.allSatisfy { $0["destination"]?.stringValue == "crm" && $0["last_status"]?.int64Value == 500 })
            #expect(crm.allSatisfy { $0["last_response"]?.stringValue == "nope" && $0["attempts"]?.int64Value == 2 })
            let all = try #require(try json(try await client.execute(uri: "/admin/dead-letters", method: .get, headers: auth)).arrayValue)
            #expect(all.count == 4)

            // Replay one by id: only that job moves, and the dispatcher is woken (well before its 1 s poll).
            receiver.respond { _ in .ok }
            let firstID = try #require(crm.first?["id"]?.int64Value)
            let before = receiver.count
            let replayedAt = ContinuousClock.now
            let one = try await client.execute(uri: "/admin/dead-letters/replay", method: .post, headers: post, body: body(#"{"ids":[\#(firstID)]}"#))
            #expect(one.status == .ok)
            #expect(try json(one)["replayed"]?.int64Value == 1)
            #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").delivered == 1 })
            #expect(receiver.count == before + 1)
            if let hit = receiver.hits.last {
                #expect(milliseconds(from: replayedAt, to: hit.arrivedAt) < 500, "replay waited for the poll")
            }
            #expect(try await engine.stats("crm").dead == 1)
            #expect(try await engine.stats("other").dead == 2)

            // All of one destination, then all.
            let crmAll = try await client.execute(
                uri: "/admin/dead-letters/replay", method: .post, headers: post, body: body(#"{"all":true,"destination":"crm"}"#))
            #expect(try json(crmAll)["replayed"]?.int64Value == 1)
            #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("crm").delivered == 2 })
            #expect(try await engine.stats("other").dead == 2)
            let rest = try await client.execute(uri: "/admin/dead-letters/replay", method: .post, headers: post, body: body(#"{"all":true}"#))
            #expect(try json(rest)["replayed"]?.int64Value == 2)
            #expect(await eventually(timeout: .seconds(10)) { try await engine.stats("other").delivered == 2 })
            #expect(try json(try await client.execute(uri: "/admin/dead-letters", method: .get, headers: auth)).arrayValue?.isEmpty == true)
            let nothing = try await client.execute(uri: "/admin/dead-letters/replay", method: .post, headers: post, body: body(#"{"all":true}"#))
            #expect(try json(nothing)["replayed"]?.int64Value == 0)

            // Bad requests are refused, not treated as "all".
            for bad in ["{}", #"{"ids":[]}"#, #"{"ids":["x"]}"#, "not json", #"{"all":false}"#] {
                let reply = try await client.execute(uri: "/admin/dead-letters/replay", method: .post, headers: post, body: body(bad))
                #expect(reply.status == .badRequest, "body \(bad)")
            }
        }
    }
}
