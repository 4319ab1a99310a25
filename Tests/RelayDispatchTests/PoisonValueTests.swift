import Foundation
import PropertyBased
import RelayCore
import RelayStore
import RelayTestSupport
import Testing

extension DeliveryEngine {
    /// Hostile values in every provider field that reaches a store or a header, and in admin inputs, through real HTTP
    /// into a real store, on both stores (SPEC section 13, issue 23). Each value is refused with a 400 that names the
    /// field (or the JSON parser's reason), or stored and read back byte for byte; never a 5xx; and never any effect on a
    /// valid request sent beside it, which shares its commit group.
    @Suite("Poison values", .serialized)
    struct PoisonValueTests {
        static let secret = "poison-value-secret"

        /// One generated case: a field of a LINE or 8x8 body and the JSON text put there.
        struct Case: Sendable, CustomStringConvertible {
            var field: Field
            var value: HostileValue
            var description: String { "\(field.path) = \(value.name)" }
        }

        /// A JSON string token (as bytes, so invalid UTF-8 can be sent) and the text it decodes to, if it is valid JSON.
        struct HostileValue: Sendable {
            var name: String
            var token: [UInt8]
            var decoded: String?

            static func text(_ name: String, _ text: String) -> HostileValue {
                HostileValue(name: name, token: JSONWriter.serialize(.string(text)), decoded: text)
            }
        }

        static let values: [HostileValue] = [
            .text("NUL", "ab\u{0}c"),
            .text("a control character", "tab\u{1}ctl"),
            HostileValue(name: "a lone surrogate", token: Array(#""\ud800x""#.utf8), decoded: nil),
            HostileValue(name: "invalid UTF-8", token: [0x22, 0x61, 0xFF, 0xFE, 0x62, 0x22], decoded: nil),
            .text("4-byte characters", "😀𝄞-\u{10FFFF}"),
            .text("quotes and backslashes", #"q"u\o\"te"#),
            .text("% and :", "100%:a%3A:b"),
            .text("255 bytes", String(repeating: "a", count: 255)),
            .text("256 bytes", String(repeating: "b", count: 256)),
            .text("257 bytes", String(repeating: "c", count: 257)),
            .text("100 KB", String(repeating: "d", count: 100_000)),
        ]

        /// The fields relay keys on, stores as text or puts in a header, per provider.
        enum Field: String, CaseIterable, Sendable {
            case lineEventID, lineType, lineDeliveryData, lineUserID, lineGroupID, lineDestination
            case umid, eventID, eventType, state, detail, channel, subAccount

            var path: String { rawValue }
            var isLINE: Bool { rawValue.hasPrefix("line") }
            /// The name the 400's message gives this field.
            var named: String {
                switch self {
                case .lineEventID: "webhookEventId"
                case .lineType: "\"type\""
                case .lineDeliveryData: "delivery.data"
                case .lineUserID: "source.userId"
                case .lineGroupID: "source.groupId"
                case .lineDestination: "destination"
                case .umid: "payload.umid"
                case .eventID: "eventId"
                case .eventType: "eventType"
                case .state: "payload.status.state"
                case .detail: "payload.status.detail"
                case .channel: "payload.channel"
                case .subAccount: "payload.subAccountId"
                }
            }

            /// A body with `token` in this field and fresh ids elsewhere.
            func body(_ token: [UInt8], unique: String) -> [UInt8] {
                func put(_ template: String) -> [UInt8] {
                    let parts = template.components(separatedBy: "@V@")
                    return Array(parts[0].utf8) + token + Array(parts[1].utf8)
                }
                let id = #""01P\#(unique)""#
                let now = Timestamp.nowMilliseconds()
                let source = #"{"type":"group","groupId":\#(self == .lineGroupID ? "@V@" : #""Cg1""#),"userId":\#(self == .lineUserID ? "@V@" : #""U1""#)}"#
                switch self {
                case .lineEventID, .lineType, .lineDeliveryData, .lineUserID, .lineGroupID, .lineDestination:
                    let event = #"{"type":\#(self == .lineType ? "@V@" : #""delivery""#),"delivery":{"data":\#(self == .lineDeliveryData ? "@V@" : #""tag-\#(unique)""#)},"#
                        + #""webhookEventId":\#(self == .lineEventID ? "@V@" : id),"deliveryContext":{"isRedelivery":false},"timestamp":\#(now),"#
                        + #""mode":"active","source":\#(source)}"#
                    return put(#"{"destination":\#(self == .lineDestination ? "@V@" : #""Uc7472b39""#),"events":[\#(event)]}"#)
                case .umid, .eventID, .eventType, .state, .detail, .channel, .subAccount:
                    func v(_ field: Field, _ plain: String) -> String { self == field ? "@V@" : #""\#(plain)""# }
                    return put(#"{"namespace":"ChatApps","eventType":\#(v(.eventType, "outbound_message_status_changed")),"eventId":\#(v(.eventID, "e-" + unique)),"#
                        + #""payload":{"umid":\#(v(.umid, "u-" + unique)),"subAccountId":\#(v(.subAccount, "acme")),"channel":\#(v(.channel, "whatsapp")),"#
                        + #""status":{"state":\#(v(.state, "delivered")),"detail":\#(v(.detail, "delivered_to_handset")),"timestamp":"2026-11-24T09:00:00.00Z"}}}"#)
                }
            }
        }

        static func yaml(receiver: String) -> String {
            """
            sources:
              line:
                provider: line
                channel_secret: \(secret)
                expect_receipt: 1h
              eight:
                provider: 8x8
                auth:
                  none: true
            destinations:
              sink:
                url: \(receiver)
                breaker: off
            routes:
              - to: [sink]

            """
        }

        static func post(_ engine: Engine, _ field: Field, _ body: [UInt8]) async throws -> HTTPReply {
            field.isLINE ? try await engine.postLINE(body, secret: secret) : try await RelayDispatchTests.post(engine.webhookURL("eight"), body: body)
        }

        /// One hostile request beside one valid request of the same provider, at once.
        static func check(_ engine: Engine, _ item: Case) async throws {
            let unique = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20)
            let hostile = item.field.body(item.value.token, unique: "h\(unique)")
            let valid = item.field.body(JSONWriter.serialize(.string(item.field == .lineType ? "delivery" : item.field == .eventType
                ? "outbound_message_status_changed" : item.field == .state ? "read" : "v-\(unique)")), unique: "v\(unique)")
            async let hostileReply = post(engine, item.field, hostile)
            async let validReply = post(engine, item.field, valid)
            let (refusedOrStored, beside) = try await (hostileReply, validReply)
            #expect(beside.status == 200, "\(item): the valid request beside it got \(beside.status) \(beside.body.prefix(200))")
            #expect(refusedOrStored.status == 200 || refusedOrStored.status == 400, "\(item): \(refusedOrStored.status) \(refusedOrStored.body.prefix(300))")
            if refusedOrStored.status == 400 {
                #expect(refusedOrStored.body.contains("invalid_payload"), "\(item): \(refusedOrStored.body.prefix(300))")
                if item.value.decoded != nil {
                    #expect(refusedOrStored.body.contains(item.field.named.replacingOccurrences(of: "\"", with: "\\\"")),
                            "\(item): the 400 does not name the field: \(refusedOrStored.body.prefix(300))")
                }
                #expect(refusedOrStored.body.utf8.count < 1_000, "\(item): the 400 echoes the value")
            } else if let decoded = item.value.decoded {
                // Stored: the canonical event keeps the provider's object under `raw`, byte for byte.
                #expect(decoded.utf8.count <= ProviderValue.maxBytes && ProviderValue.problem(decoded) == nil, "\(item) was accepted")
                let stored = try await engine.store.stats(nowMilliseconds: Timestamp.nowMilliseconds()).events
                #expect(stored > 0)
                if item.field == .lineEventID {
                    let event = try #require(try await engine.store.event(sourceID: "line", eventID: decoded), "\(item): not found by its id")
                    #expect(event.eventID.utf8.elementsEqual(decoded.utf8))
                    let canonical = try JSONParser.parse(event.canonical)
                    #expect(canonical["data"]?["raw"]?["webhookEventId"]?.stringValue?.utf8.elementsEqual(decoded.utf8) == true)
                }
            }
        }

        /// Admin inputs with the same values: an expectation key and an event lookup; never a 5xx.
        static func checkAdmin(_ engine: Engine, _ value: HostileValue) async throws {
            let body = Array(#"{"source":"line","expectations":[{"key":"#.utf8) + value.token + Array("}]}".utf8)
            let expected = try await RelayDispatchTests.post("http://127.0.0.1:\(engine.adminPort)/admin/expectations", body: body)
            #expect(expected.status == 200 || expected.status == 400, "expectation key \(value.name): \(expected.status) \(expected.body.prefix(200))")
            if let decoded = value.decoded {
                let path = decoded.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "x"
                let lookup = await get("http://127.0.0.1:\(engine.adminPort)/admin/events/line/\(path)")
                #expect(lookup.map { $0.status < 500 } == true, "event lookup \(value.name): \(lookup?.status ?? 0) \(lookup?.body.prefix(200) ?? "")")
            }
        }

        static func run(postgres: String?) async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: yaml(receiver: receiver.url), postgres: postgres) { engine in
                    // Every field with every value once, then generated pairs.
                    for field in Field.allCases {
                        for value in values { try await check(engine, Case(field: field, value: value)) }
                    }
                    for value in values { try await checkAdmin(engine, value) }
                    await propertyCheck(count: 60, input: Gen.element(of: Field.allCases), Gen.element(of: values)) { field, value in
                        guard let field, let value else { return }
                        try await check(engine, Case(field: field, value: value))
                    }
                }
            }
        }

        @Test func hostileValuesOnSQLite() async throws {
            try await Self.run(postgres: nil)
        }

        @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
        func hostileValuesOnPostgreSQL() async throws {
            try await Self.run(postgres: try await TestPostgres.shared.makeDatabase())
        }
    }
}
