import RelayCore
import Testing

/// Every LINE webhook event type, unknown future ones included: mapped, and nothing dropped.
@Suite("LINE event types")
struct LINEEventTypeTests {
    static func normalized() throws -> (events: [IncomingEvent], raw: [JSONValue]) {
        let events = try Normalize.events(.line, LINESamples.allTypesBody, sourceID: "line")
        let raw = try #require(try JSONParser.parse(LINESamples.allTypesBody)["events"]?.arrayValue)
        return (events, raw)
    }

    @Test func everyTypeMapsToItsCanonicalType() throws {
        let (events, raw) = try Self.normalized()
        try #require(events.count == LINESamples.types.count)
        try #require(raw.count == LINESamples.types.count)
        for (index, (lineType, canonicalType)) in LINESamples.types.enumerated() {
            #expect(raw[index]["type"] == .string(lineType))
            #expect(events[index].type == canonicalType, "events[\(index)] \(lineType)")
            let canonical = try Normalize.canonical(events[index])
            #expect(canonical["type"] == .string(canonicalType))
            #expect(canonical["specversion"] == .string("1.0"))
            #expect(canonical["source"] == .string("/line/\(LINESamples.destination)"))
            #expect(canonical["id"] == raw[index]["webhookEventId"])
            #expect(events[index].id == raw[index]["webhookEventId"]?.stringValue)
            let timestamp = try #require(raw[index]["timestamp"]?.int64Value)
            #expect(events[index].eventTime == timestamp)
            #expect(canonical["time"] == .string(Timestamp.format(epochMilliseconds: timestamp)))
            let data = try #require(canonical["data"]?.objectValue)
            #expect(data["provider"] == .string("line"))
            #expect(data["source_id"] == .string("line"))
            #expect(data["channel"] == .string("line"))
            #expect(data["account"] == .string(LINESamples.destination))
            #expect(data["redelivery"] == .bool(false))
            #expect(data["received_at"] == .string(Normalize.receivedAtText))
            // Only delivery receipts carry a status.
            #expect(data["status"] == (lineType == "delivery" ? .string("delivered") : nil), "\(lineType) status")
        }
    }

    @Test func rawKeepsEveryFieldVerbatim() throws {
        let (events, raw) = try Self.normalized()
        for (index, event) in events.enumerated() {
            let canonical = try Normalize.canonical(event)
            // Exact equality: same members, same order, same number literals.
            #expect(canonical["data"]?["raw"] == raw[index], "events[\(index)] raw")
            let passthrough = try JSONParser.parse(event.passthrough)
            #expect(passthrough["events"] == .array([raw[index]]), "events[\(index)] passthrough")
        }
    }

    @Test func unknownTypeKeepsUnknownAndNestedFields() throws {
        let (events, _) = try Self.normalized()
        let future = try #require(events.last)
        #expect(future.type == "line.futureThing")
        let raw = try #require(try Normalize.canonical(future)["data"]?["raw"])
        #expect(raw["someNewTopLevel"] == .string("x"))
        #expect(raw["futureThing"]?["newFlag"] == .bool(true))
        let beta = try #require(raw["futureThing"]?["alpha"]?["beta"]?.arrayValue)
        #expect(beta == [.number("1"), .number("2.50"), .object(["gamma": .null, "delta": .number("1e-7")])])
    }

    @Test func messageEventNamesSenderAndMessage() throws {
        let (events, _) = try Self.normalized()
        let data = try #require(try Normalize.canonical(events[0])["data"])
        #expect(data["sender"] == .object(["channel_user_id": .string(LINESamples.user)]))
        #expect(data["message"] == .object(["id": .string("468789577898262530")]))
        // A group's message: the subject is the conversation (the group), whoever wrote it (SPEC section 14).
        #expect(try Normalize.canonical(events[0])["subject"] == .string("Ca56f94637c2b1d0e9f8a7b6c5d4e3f2a"))
        #expect(events[0].subject == "Ca56f94637c2b1d0e9f8a7b6c5d4e3f2a")
        // One-to-one: the user; a room: the room.
        #expect(try Normalize.canonical(events[1])["subject"] == .string(LINESamples.user))
        let room = #"{"destination":"U1","events":[{"type":"message","message":{"type":"text","id":"1","text":"x"},"webhookEventId":"01R","#
            + #""deliveryContext":{"isRedelivery":false},"timestamp":1692251666727,"mode":"active","source":{"type":"room","roomId":"Rroom1","userId":"Uu1"}}]}"#
        #expect(try Normalize.events(.line, Array(room.utf8), sourceID: "line").first?.subject == "Rroom1")
        // The text survives escapes and astral characters.
        #expect(data["raw"]?["message"]?["text"] == .string("Hello, world! (love) é 😀"))
    }

    @Test func deliveryEventNamesTheRecipient() throws {
        let (events, _) = try Self.normalized()
        let delivery = try #require(events.first { $0.type == "delivery.delivered" })
        let hash = "68df277462529930889fab80ecffdc0883906320591df93c25efc08300410fc2"
        let canonical = try Normalize.canonical(delivery)
        #expect(canonical["data"]?["recipient"] == .object(["phone_hash": .string(hash)]))
        #expect(canonical["subject"] == .string(hash))
    }

    @Test func idsAreDistinct() throws {
        let (events, _) = try Self.normalized()
        #expect(Set(events.map(\.id)).count == events.count)
    }
}
