import PropertyBased
import RelayCore
import RelayTestSupport
import Testing

/// Route filters and redaction (SPEC section 16): decoding and its errors, the matcher on real normalized events, a
/// property test against a direct evaluation, and redaction of stored bytes.
@Suite("Route filters")
struct RouteFilterTests {
    static func config(_ routes: String, destinations: String = "  crm:\n    url: http://crm.internal/x\n") throws -> RelayConfig {
        try ConfigLoader.parse(yaml: Fixture.document(destinations: destinations, routes: routes), environment: [:])
    }

    /// 8x8's own example of a failed WhatsApp message (error code 15, client message id `order-1234-shipped`).
    static func undelivered() throws -> IncomingEvent {
        try #require(try Normalize.events(.eightByEight, try TestFiles.fixture("8x8/undelivered.json"), sourceID: "eightxeight").first)
    }

    static func events(_ body: String, source: String = "eightxeight") throws -> [IncomingEvent] {
        try Normalize.events(.eightByEight, Array(body.utf8), sourceID: source)
    }

    @Test func whereDecodesEveryOperatorAndTheSummaryShowsIt() throws {
        let config = try Self.config("""
              - where:
                  data.channel: [whatsapp, viber]
                  data.error.code: {exists: true}
                  data.message.client_message_id: {prefix: "campaign-"}
                  subject: {not: ["test-umid-1"]}
                  data.raw.payload.status.code: 15
                  data.redelivery: false
                  data.detail: "15"
                to: [crm]
            """)
        let filter = try #require(config.routes.first?.filter)
        #expect(filter.conditions.map(\.test) == [
            .anyOf([.string("whatsapp"), .string("viber")]), .exists(true), .prefix("campaign-"), .not([.string("test-umid-1")]),
            .anyOf([.number(15, text: "15")]), .anyOf([.bool(false)]), .anyOf([.string("15")]),
        ])
        #expect(config.summary().contains(#"where data.channel = ["whatsapp", "viber"] and data.error.code exists and data.message.client_message_id starts with "campaign-" and subject != "test-umid-1""#))
    }

    @Test func badFiltersAndRedactionsAreErrorsWithTheirKeyPathAndLine() {
        let issues = Fixture.issues(Fixture.document(
            destinations: "  crm:\n    url: http://crm.internal/x\n    format: passthrough\n    redact: [data.raw]\n  bi:\n    url: http://bi/x\n    redact: [data..x, id]\n",
            routes: "  - where:\n      data.x: {within: 3}\n      foo.bar: 1\n      data.y: []\n      data.z: {exists: maybe}\n    to: [crm, bi]\n"))
        let paths = issues.map(\.path)
        #expect(paths.contains("destinations.crm.redact"), "\(issues)")
        #expect(paths.contains("destinations.bi.redact[0]") && paths.contains("destinations.bi.redact[1]"), "\(issues)")
        #expect(paths.contains("routes[0].where.data.x.within") && paths.contains("routes[0].where.foo.bar"), "\(issues)")
        #expect(paths.contains("routes[0].where.data.y") && paths.contains("routes[0].where.data.z.exists"), "\(issues)")
        #expect(issues.allSatisfy { $0.line != nil }, "\(issues)")
        #expect(issues.first { $0.path == "routes[0].where.data.x.within" }?.message.contains("unknown operator") == true)
    }

    /// The mistakes a first filter makes: a member of `data` without `data.`, a misspelt root, and `data.progress`,
    /// which the store writes after routing (a filter on it would silently never match).
    @Test func commonPathMistakesGetAHint() {
        let issues = Fixture.issues(Fixture.document(
            destinations: "  crm:\n    url: http://crm.internal/x\n",
            routes: "  - where:\n      status: undelivered\n      subjet: u-1\n      data.progress.advanced: true\n    to: [crm]\n"))
        func message(_ path: String) -> String { issues.first { $0.path == path }?.message ?? "none in \(issues)" }
        #expect(message("routes[0].where.status").contains("did you mean data.status?"))
        #expect(message("routes[0].where.subjet").contains("did you mean subject?"))
        #expect(message("routes[0].where.data.progress.advanced").contains("advancing_only"))
        #expect(issues.allSatisfy { $0.line != nil }, "\(issues)")
    }

    @Test func filtersReadTheNormalizedEventAndTheStoredBytesAlike() throws {
        let config = try Self.config("""
              - types: ["delivery.*"]
                where:
                  data.channel: [whatsapp, viber]
                  data.error.code: {exists: true}
                  data.raw.payload.status.state: undelivered
                to: [crm]
            """)
        let table = config.routingTable
        let failed = try Self.undelivered()
        let delivered = try #require(try Self.events(EightByEightBodies.status(umid: "u-2", state: "delivered")).first)
        #expect(table.route(failed, sourceID: "eightxeight").always == ["crm"])
        #expect(table.route(delivered, sourceID: "eightxeight").always.isEmpty)
        // Without its fields (an event read back from the store), the stored body is parsed once: the same answer.
        var stored = failed
        stored.fields = nil
        #expect(table.route(stored, sourceID: "eightxeight").always == ["crm"])
    }

    @Test func numbersAndStringsNeverEqualEachOtherAndMissingEqualsNothing() throws {
        let event = JSONValue.object(["id": .string("e"), "data": .object(["code": .number("15"), "text": .string("15"), "none": .null])])
        func holds(_ path: String, _ test: EventFilter.Test) -> Bool {
            EventFilter([.init(path: FieldPath(path)!, test: test)]).matches(event)
        }
        #expect(holds("data.code", .anyOf([.number(15, text: "15.0")])))
        #expect(!holds("data.code", .anyOf([.string("15")])))
        #expect(!holds("data.text", .anyOf([.number(15, text: "15")])))
        #expect(!holds("data.missing", .anyOf([.string("x")])) && holds("data.missing", .not([.string("x")])))
        #expect(holds("data.none", .exists(false)) && !holds("data.none", .exists(true)), "a JSON null counts as missing")
        #expect(!holds("data.code", .prefix("1")), "prefix reads strings only")
        #expect(!holds("data", .anyOf([.string("x")])), "objects equal nothing")
    }

    /// A generated event and filter: the matcher agrees with a direct evaluation of the rules.
    @Test func matcherAgreesWithADirectEvaluation() async {
        let keys = ["a", "b", "c"]
        let values: [JSONValue?] = [nil, .null, .string("x"), .string("xy"), .string("1"), .number("1"), .number("1.0"), .bool(true), .object([:])]
        let operands: [EventFilter.Operand] = [.string("x"), .string("1"), .number(1, text: "1"), .bool(true)]
        let tests: [EventFilter.Test] = operands.map { .anyOf([$0]) } + [.anyOf(operands), .exists(true), .exists(false), .prefix("x"), .not([.string("x")]), .not(operands)]
        func direct(_ value: JSONValue?, _ test: EventFilter.Test) -> Bool {
            let present: JSONValue? = (value == .null) ? nil : value
            func equal(_ o: EventFilter.Operand, _ v: JSONValue) -> Bool {
                switch (o, v) {
                case (.string(let a), .string(let b)): return a == b
                case (.number(let a, _), .number(let b)): return Double(b) == a
                case (.bool(let a), .bool(let b)): return a == b
                default: return false
                }
            }
            switch test {
            case .anyOf(let os): guard let p = present else { return false }; return os.contains { equal($0, p) }
            case .exists(let want): return (present != nil) == want
            case .prefix(let s): if case .string(let t)? = present { return t.hasPrefix(s) }; return false
            case .not(let os): guard let p = present else { return true }; return !os.contains { equal($0, p) }
            }
        }
        await propertyCheck(count: 300, input: Gen.element(of: values).array(of: 3...3), Gen.element(of: tests).array(of: 1...3)) { fieldValues, chosen in
            var data = JSONObject()
            for (key, value) in zip(keys, fieldValues) { if let value = value ?? nil { data.append(key, value) } }
            let event = JSONValue.object(["id": .string("e"), "data": .object(data)])
            let conditions = chosen.enumerated().compactMap { index, test in test.map { EventFilter.Condition(path: FieldPath("data.\(keys[index])")!, test: $0) } }
            let expected = conditions.allSatisfy { direct(fieldValues[keys.firstIndex(of: $0.path.segments[1])!] ?? nil, $0.test) }
            #expect(EventFilter(conditions).matches(event) == expected, "\(conditions) on \(data)")
        }
    }

    @Test func redactionRemovesLeavesAndKeepsTheRestVerbatim() throws {
        let event = try Self.undelivered()
        let paths = [FieldPath("data.recipient")!, FieldPath("data.raw")!, FieldPath("data.message.client_message_id")!]
        let redacted = try #require(Redaction.apply(paths, to: event.canonical))
        let value = try JSONParser.parse(redacted)
        #expect(value["data"]?["recipient"] == nil && value["data"]?["raw"] == nil)
        #expect(value["data"]?["message"]?["client_message_id"] == nil && value["data"]?["message"]?["id"] != nil)
        let original = try JSONParser.parse(event.canonical)
        #expect(value["data"]?["status"] == JSONValue.string("undelivered") && value["id"] == original["id"])
        let phone = try #require(original["data"]?["recipient"]?["msisdn"]?.stringValue)
        #expect(!String(decoding: redacted, as: UTF8.self).contains(phone.dropFirst()), "no phone number left")
        #expect(Redaction.apply([], to: event.canonical) == event.canonical)
    }
}
