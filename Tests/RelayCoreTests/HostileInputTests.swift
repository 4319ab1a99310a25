import RelayCore
import Testing

/// Inputs an attacker can send, signed or not (SPEC section 13): none may trap, each is a clear `invalid_payload`.
@Suite("Hostile input")
struct HostileInputTests {
    static func lineBody(timestamp: String) -> String {
        #"{"destination":"U1","events":[{"type":"delivery","delivery":{"data":"tag-1"},"webhookEventId":"01H","#
            + #""timestamp":\#(timestamp),"mode":"active"}]}"#
    }

    /// Every value from -2^63 to about -9.2e18 used to overflow (SIGILL); past 9999 the time was not RFC 3339.
    @Test(arguments: ["-9223372036854775808", "-9223372036854775000", "9223372036854775807",
                      "-62135596800001", "253402300800000", "-1000000000000000000"])
    func lineTimestampOutsideYears1To9999IsRefused(timestamp: String) throws {
        let error = try #require(Normalize.payloadError(.line, Self.lineBody(timestamp: timestamp)))
        #expect(error.message == "events[0]: \"timestamp\" is outside the years 0001-9999", "\(error.message)")
    }

    @Test(arguments: [("-62135596800000", "0001-01-01T00:00:00.000Z"), ("253402300799999", "9999-12-31T23:59:59.999Z"),
                      ("-1", "1969-12-31T23:59:59.999Z")])
    func lineTimestampAtTheEdgesIsKept(timestamp: String, time: String) throws {
        let event = try #require(try Normalize.events(.line, Self.lineBody(timestamp: timestamp)).first)
        #expect(try Normalize.canonical(event)["time"]?.stringValue == time)
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -9_223_372_036_854_775_000, Int64.max, -62_135_596_800_001, 253_402_300_800_000])
    func formattingNeverTraps(milliseconds: Int64) {
        let text = Timestamp.format(epochMilliseconds: milliseconds)
        #expect(text == (milliseconds < 0 ? "0001-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z"))
    }

    /// An offset can carry a four-digit year out of range; such a time is not one relay can write.
    @Test func parsedTimesOutsideTheRangeAreNotTimes() {
        #expect(Timestamp.parse("0001-01-01T00:00:00+01:00") == nil)
        #expect(Timestamp.parse("0000-06-01T00:00:00Z") == nil)
        #expect(Timestamp.parse("9999-12-31T23:59:59.999-01:00") == nil)
        #expect(Timestamp.parse("0001-01-01T00:00:00Z") == Timestamp.representable.lowerBound)
    }

    /// First-wins in relay and last-wins downstream would make one body two different events.
    @Test(arguments: [
        (ProviderKind.line, #"{"destination":"U1","events":[{"type":"delivery","webhookEventId":"01A","webhookEventId":"01B"}]}"#),
        (.line, #"{"events":[],"events":[{"type":"follow","webhookEventId":"01A"}]}"#),
        (.eightByEight, #"{"namespace":"ChatApps","eventType":"inbound_message_received","payload":{"umid":"u-1","umid":"u-2"}}"#),
        (.eightByEight, #"{"namespace":"SMS","namespace":"ChatApps","eventType":"inbound_message_received","payload":{"umid":"u-1"}}"#),
    ])
    func repeatedMemberNamesAreRefused(provider: ProviderKind, body: String) throws {
        let error = try #require(Normalize.payloadError(provider, body))
        #expect(error.message.contains("duplicate member name"), "\(error.message)")
    }

    /// Past 16 members the parser switches from a scan to a set; both must catch a repeat, and neither may refuse
    /// distinct names.
    @Test(arguments: [3, 16, 17, 40, 5000])
    func repeatsAreFoundInObjectsOfAnySize(members: Int) throws {
        let distinct = (0..<members).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect(try JSONParser.parse("{\(distinct)}").objectValue?.members.count == members)
        for repeated in [0, members - 1] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse("{\(distinct),\"k\(repeated)\":true}") }
        }
        #expect(try JSONParser.parse("{\"a\":{\"x\":1},\"b\":{\"x\":1}}").objectValue?.members.count == 2, "names repeat across objects")
    }

    /// `umid:channel:state:detail` parts are escaped: two different messages cannot share a key.
    @Test func compositeDedupKeysCannotCollide() throws {
        func id(umid: String, channel: String) throws -> String {
            let body = #"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","payload":{"umid":"\#(umid)","#
                + #""channel":"\#(channel)","status":{"state":"delivered","detail":"x"}}}"#
            return try #require(try Normalize.events(.eightByEight, body).first).id
        }
        let first = try id(umid: "a:b", channel: "c")
        let second = try id(umid: "a", channel: "b:c")
        #expect(first != second)
        #expect(first == "a%3Ab:c:delivered:x")
        #expect(try id(umid: "50%", channel: "sms") == "50%25:sms:delivered:x")
        // Keys stored before escaping keep meaning the same.
        #expect(try id(umid: "7a2b-01", channel: "whatsapp") == "7a2b-01:whatsapp:delivered:x")
    }
}
