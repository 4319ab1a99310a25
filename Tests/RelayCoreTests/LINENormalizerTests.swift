import RelayCore
import Testing

/// The LINE fixtures through the real provider, and the LINE rules of SPEC sections 5 and 6.
@Suite("LINE normalizer")
struct LINENormalizerTests {
    static let destination = "Uc7472b39e21dab71c2347e02714630d6"
    static let phoneHash = "68df277462529930889fab80ecffdc0883906320591df93c25efc08300410fc2"
    static let tag = "15034552939884E28681A7D668CEA94C147C716C0EC9DFE8B80B44EF3B57F6BD0602366BC3menu01"

    static let expectations: [(file: String, expected: String)] = [
        ("line/delivery.json", """
        {"id":"01G17DAF0QJ7A3ERC5EJ9MAMH8","source":"/line/\(destination)","type":"delivery.delivered",
         "time":"2022-04-22T01:13:58.721Z","subject":"\(phoneHash)",
         "data":{"provider":"line","source_id":"line","status":"delivered","redelivery":false,
           "account":"\(destination)","channel":"line","recipient":{"phone_hash":"\(phoneHash)"}}}
        """),
        ("line/delivery-with-tag.json", """
        {"id":"01G17EJCGAVV66J5WNA7ZCTF6H","source":"/line/\(destination)","type":"delivery.delivered",
         "time":"2022-04-22T01:35:46.705Z","subject":"\(tag)",
         "data":{"provider":"line","source_id":"line","status":"delivered","redelivery":false,
           "account":"\(destination)","channel":"line","recipient":{"delivery_tag":"\(tag)"}}}
        """),
    ]

    @Test func everyFixtureIsCovered() throws {
        let files = try TestFiles.fixtureNames(in: "line")
        #expect(Set(files) == Set(Self.expectations.map(\.file) + ["line/verify-empty-events.json"]))
    }

    @Test(arguments: expectations)
    func fixtureNormalizesFieldByField(file: String, expected: String) throws {
        let body = try TestFiles.fixture(file)
        let events = try Normalize.events(.line, body, sourceID: "line")
        try #require(events.count == 1)
        let rawEvent = try #require(try JSONParser.parse(body)["events"]?.arrayValue?.first)
        let canonical = try Normalize.canonical(events[0])
        try JSONCheck.expectCanonical(canonical, expected, raw: rawEvent, label: file)
        #expect(events[0].id == canonical["id"]?.stringValue)
        #expect(events[0].type == "delivery.delivered")
        #expect(events[0].redelivery == false)
        // Passthrough is a one-event LINE body a LINE SDK backend can read.
        let passthrough = try JSONParser.parse(events[0].passthrough)
        #expect(passthrough["destination"] == .string(Self.destination))
        #expect(passthrough["events"] == .array([rawEvent]))
    }

    @Test func verificationCallHasNoEvents() throws {
        let events = try Normalize.events(.line, try TestFiles.fixture("line/verify-empty-events.json"), sourceID: "line")
        #expect(events.isEmpty)
    }

    @Test func redeliveryIsMarked() throws {
        let text = String(decoding: try TestFiles.fixture("line/delivery.json"), as: UTF8.self)
            .replacingOccurrences(of: "\"isRedelivery\": false", with: "\"isRedelivery\": true")
        let event = try #require(try Normalize.events(.line, text).first)
        #expect(event.redelivery)
        let canonical = try Normalize.canonical(event)
        #expect(canonical["data"]?["redelivery"] == .bool(true))
        // Still the same event for deduplication.
        #expect(event.id == "01G17DAF0QJ7A3ERC5EJ9MAMH8")
    }

    @Test func missingDestinationFallsBackToTheSourceID() throws {
        let text = """
            {"events":[{"type":"follow","webhookEventId":"01HX","timestamp":1650590038721,
              "source":{"type":"user","userId":"U4af4980629"},"mode":"active"}]}
            """
        let canonical = try Normalize.canonical(try #require(try Normalize.events(.line, text, sourceID: "line-main").first))
        #expect(canonical["source"] == .string("/line/line-main"))
        #expect(canonical["data"]?["account"] == nil)
        #expect(canonical["data"]?["source_id"] == .string("line-main"))
    }

    @Test func eventWithoutWebhookEventIDGetsAStableContentHash() throws {
        func body(_ timestamp: Int) -> String {
            """
            {"destination":"U1","events":[{"type":"follow","timestamp":\(timestamp),"replyToken":"r1",
             "source":{"type":"user","userId":"U4af4980629"}}]}
            """
        }
        let first = try #require(try Normalize.events(.line, body(1_650_590_038_721)).first)
        let again = try #require(try Normalize.events(.line, body(1_650_590_038_721)).first)
        let other = try #require(try Normalize.events(.line, body(1_650_590_038_722)).first)
        #expect(!first.id.isEmpty)
        #expect(first.id == again.id)
        #expect(first.id != other.id)
        #expect(try Normalize.canonical(first)["id"] == .string(first.id))
        // A null webhookEventId is the same as an absent one.
        let null = body(1_650_590_038_721).replacingOccurrences(of: "\"type\":\"follow\",", with: "\"type\":\"follow\",\"webhookEventId\":null,")
        #expect(try Normalize.events(.line, null).first?.id.isEmpty == false)
    }

    @Test func timestampIsMillisecondsSinceTheEpoch() throws {
        let text = """
            {"destination":"U1","events":[{"type":"unfollow","webhookEventId":"E1","timestamp":0,
             "source":{"type":"user","userId":"U2"}}]}
            """
        let canonical = try Normalize.canonical(try #require(try Normalize.events(.line, text).first))
        #expect(canonical["time"] == .string("1970-01-01T00:00:00.000Z"))
        #expect(canonical["subject"] == .string("U2"))
    }
}
