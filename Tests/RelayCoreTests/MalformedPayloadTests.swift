import RelayCore
import Testing

/// Bodies that are not JSON or not the provider's shape are refused whole, with a message saying where.
@Suite("Malformed payloads")
struct MalformedPayloadTests {
    static let goodLINEEvent = """
        {"type":"delivery","delivery":{"data":"tag-1"},"webhookEventId":"01GOOD","deliveryContext":{"isRedelivery":false},
         "timestamp":1650590038721,"mode":"active"}
        """

    @Test(arguments: ProviderKind.allCases, ["not json", "", "{\"events\":[]", "{\"a\":1} trailing"])
    func bodyThatIsNotJSON(provider: ProviderKind, body: String) throws {
        let error = try #require(Normalize.payloadError(provider, body))
        #expect(error.message.contains("not JSON"), "\(error.message)")
    }

    @Test(arguments: ProviderKind.allCases, ["[]", "[{\"events\":[]}]", "\"events\"", "42", "null"])
    func rootThatIsNotAnObject(provider: ProviderKind, body: String) throws {
        #expect(Normalize.payloadError(provider, body) != nil)
    }

    @Test(arguments: ["{\"destination\":\"U1\"}", "{\"destination\":\"U1\",\"events\":{}}", "{\"events\":null}",
                      "{\"destination\":7,\"events\":[]}"])
    func lineBodyWithoutAnEventsArray(body: String) throws {
        #expect(Normalize.payloadError(.line, body) != nil)
    }

    @Test(arguments: [
        "{\"webhookEventId\":\"01BAD\",\"timestamp\":1650590038721}",  // no type
        "{\"type\":\"\",\"webhookEventId\":\"01BAD\"}",  // empty type
        "{\"type\":7,\"webhookEventId\":\"01BAD\"}",  // type not a string
        "42", "\"delivery\"", "[]", "null",  // not an object
        "{\"type\":\"delivery\",\"webhookEventId\":\"01BAD\",\"timestamp\":\"yesterday\"}",
        "{\"type\":\"delivery\",\"webhookEventId\":12}",
    ])
    func oneMalformedEventAmongGoodOnesRejectsTheRequest(bad: String) throws {
        let body = "{\"destination\":\"U1\",\"events\":[\(Self.goodLINEEvent),\(bad),\(Self.goodLINEEvent)]}"
        let error = try #require(Normalize.payloadError(.line, body))
        #expect(error.message.contains("events[1]"), "\(error.message)")
        #expect(!error.message.contains("events[0]"))
        // The good events alone are fine.
        #expect(try Normalize.events(.line, "{\"destination\":\"U1\",\"events\":[\(Self.goodLINEEvent)]}").count == 1)
    }

    static let eightByEight = #"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","payload":"#
        + #"{"umid":"u-1","subAccountId":"acc","channel":"whatsapp","status":{"state":"delivered","timestamp":"2025-05-05T09:15:57.00Z"}}}"#

    @Test func eightByEightBaseBodyIsValid() throws {
        #expect(try Normalize.events(.eightByEight, Self.eightByEight).count == 1)
    }

    @Test(arguments: [
        ("\"payload\":{\"umid\":\"u-1\",\"subAccountId\":\"acc\",\"channel\":\"whatsapp\",\"status\":{\"state\":\"delivered\",\"timestamp\":\"2025-05-05T09:15:57.00Z\"}}", "\"payload\":null", "payload"),
        ("\"umid\":\"u-1\",", "", "umid"),
        ("\"state\":\"delivered\",", "", "status.state"),
        ("\"state\":\"delivered\",", "\"state\":\"\",", "status.state"),
        ("\"status\":{\"state\":\"delivered\",\"timestamp\":\"2025-05-05T09:15:57.00Z\"}", "\"status\":\"delivered\"", "status.state"),
        ("\"eventType\":\"outbound_message_status_changed\",", "", "eventType"),
    ])
    func eightByEightMissingRequiredFields(remove: String, replacement: String, named: String) throws {
        let body = Self.eightByEight.replacingOccurrences(of: remove, with: replacement)
        try #require(body != Self.eightByEight)
        let error = try #require(Normalize.payloadError(.eightByEight, body))
        #expect(error.message.contains(named), "\(error.message)")
    }

    @Test func inboundWithoutUmidIsRefused() throws {
        let body = """
            {"namespace":"SMS","eventType":"inbound_message_received","payload":{"subAccountId":"acc","source":"+1"}}
            """
        #expect(Normalize.payloadError(.eightByEight, body)?.message.contains("umid") == true)
    }
}
