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
    /// Admin inputs are strict (SPEC section 13): a bad `limit` or replay body is a 400 and changes nothing.
    @Suite struct AdminInputs {
        typealias API = AdminAPI

        /// Runs `body` against the admin router of an engine holding two dead letters for each of `crm` and `other`.
        static func withDeadLetters(_ body: @Sendable (any TestClientProtocol, Engine, Receiver) async throws -> Void) async throws {
            try await Receiver.with({ _ in .status(.internalServerError, body: "nope") }) { receiver in
                try await Engine.with(yaml: API.yaml(receiver: receiver.port)) { engine in
                    for _ in 0..<2 {
                        #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: LINE.eventID())]), secret: API.secret).status == 200)
                    }
                    #expect(await eventually(timeout: .seconds(10)) {
                        let (crm, other) = (try await engine.stats("crm"), try await engine.stats("other"))
                        return crm.dead == 2 && other.dead == 2
                    })
                    let router = Routers.admin(
                        config: engine.config, store: engine.store, registry: PrometheusCollectorRegistry(), onReplay: { engine.dispatcher.wake() })
                    let app = Application(router: router, logger: quietLogger("admin"))
                    try await app.test(.router) { client in try await body(client, engine, receiver) }
                }
            }
        }

        /// A 400 in the admin API's error shape whose message contains `mentioning`.
        static func expectBadRequest(_ response: TestResponse, mentioning: String, _ what: String) throws {
            #expect(response.status == .badRequest, "\(what): \(response.status)")
            let json = try API.json(response)
            #expect(json["error"]?.stringValue == "invalid_request", "\(what)")
            let message = json["message"]?.stringValue ?? ""
            #expect(message.contains(mentioning), "\(what): message \(message)")
        }

        @Test func limitOutsideOneToTenThousandIsRefused() async throws {
            try await Self.withDeadLetters { client, _, _ in
                for bad in ["-1", "0", "10001", "abc", "1.5", "", "99999999999999999999"] {
                    let reply = try await client.execute(uri: "/admin/dead-letters?limit=\(bad)", method: .get, headers: API.auth)
                    try Self.expectBadRequest(reply, mentioning: "limit must be an integer from 1 to 10000", "limit=\(bad)")
                }
                for (limit, count) in [("1", 1), ("3", 3), ("10000", 4)] {
                    let reply = try await client.execute(uri: "/admin/dead-letters?limit=\(limit)", method: .get, headers: API.auth)
                    #expect(reply.status == .ok)
                    #expect(try API.json(reply).arrayValue?.count == count, "limit=\(limit)")
                }
            }
        }

        @Test func replayBodyWithAWrongTypeOrAnUnknownKeyIsRefusedAndMovesNothing() async throws {
            try await Self.withDeadLetters { client, engine, receiver in
                receiver.respond { _ in .ok }
                let before = receiver.count
                let cases: [(body: String, mentioning: String)] = [
                    (#"{"all": true, "destination": 1}"#, #""destination" must be a destination id"#),
                    (#"{"all": true, "destnation": "crm"}"#, #"unknown key "destnation""#),
                    // A null read as "absent" would replay every destination; a duplicate would depend on the parser.
                    (#"{"all": true, "destination": null}"#, #""destination" is null; leave the key out instead"#),
                    (#"{"all": true, "destination": "crm", "destination": "other"}"#, #"duplicate member name "destination""#),
                    (#"{"all": true, "all": true}"#, #"duplicate member name "all""#),
                    (#"{"ids": null}"#, #""ids" is null"#),
                    (#"{"all": true, "Destination": "crm"}"#, #"unknown key "Destination""#),
                    (#"{"all": "true"}"#, #""all" must be true"#),
                    (#"{"all": 1}"#, #""all" must be true"#),
                    (#"{"ids": [1.5]}"#, #""ids" must be a list of dead-letter ids (integers)"#),
                    (#"{"ids": ["1"]}"#, #""ids" must be a list of dead-letter ids"#),
                    (#"{"ids": 1}"#, #""ids" must be a list of dead-letter ids"#),
                    (#"{"ids": [1], "all": true}"#, #"not both"#),
                    (#"{"destination": "crm"}"#, #"or {"ids": [...]}"#),
                    (#"{"ids": [1], "type": "delivery.*"}"#, #"narrow "all", not "ids""#),
                    (#"{"all": true, "since": "yesterday"}"#, #""since" must be an RFC 3339 time"#),
                    (#"{"all": true, "type": 5}"#, #""type" must be a canonical type or glob"#),
                    (#"[{"all": true}]"#, "must be a JSON object"),
                ]
                for item in cases {
                    let reply = try await client.execute(uri: "/admin/dead-letters/replay", method: .post, headers: API.post, body: API.body(item.body))
                    try Self.expectBadRequest(reply, mentioning: item.mentioning, item.body)
                }
                #expect(try await engine.stats("crm").dead == 2, "a refused replay moved crm's dead letters")
                #expect(try await engine.stats("other").dead == 2, "a refused replay moved other's dead letters")
                #expect(try await engine.stats("crm").pending == 0)
                #expect(try await engine.stats("other").pending == 0)
                #expect(receiver.count == before, "a refused replay was delivered")
                // The strict reader still takes what it should: one destination's dead letters.
                let crm = try await client.execute(
                    uri: "/admin/dead-letters/replay", method: .post, headers: API.post, body: API.body(#"{"all": true, "destination": "crm"}"#))
                #expect(try API.json(crm)["replayed"]?.int64Value == 2)
                #expect(try await engine.stats("other").dead == 2)
            }
        }
    }
}
