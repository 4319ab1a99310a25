import RelayCore
import Testing

/// Every 8x8 fixture through the real provider, checked field by field against SPEC sections 5 and 6.
@Suite("8x8 normalizer")
struct EightByEightNormalizerTests {
    static let sourceID = "eightxeight"

    /// Fixture file and the canonical event it must become (without `data.received_at` and `data.raw`).
    static let expectations: [(file: String, expected: String)] = [
        ("8x8/delivered.json", """
        {"id":"6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31:whatsapp:delivered:delivered_to_recipient",
         "source":"/8x8/acme_whatsapp","type":"delivery.delivered","time":"2025-05-05T09:15:57.000Z",
         "subject":"6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31",
         "data":{"provider":"8x8","source_id":"eightxeight","status":"delivered","redelivery":false,
           "account":"acme_whatsapp","channel":"whatsapp",
           "recipient":{"msisdn":"+6512345678","channel_user_id":"6512345678"},
           "message":{"id":"6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31","client_message_id":"order-1234-shipped",
             "batch_id":"0b8f3a1e-5c2d-4e6f-8a9b-1c2d3e4f5a6b","client_batch_id":"campaign-77"},
           "detail":"delivered_to_recipient","pricing_category":"business_initiated"}}
        """),
        ("8x8/read.json", """
        {"id":"6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31:whatsapp:read:",
         "source":"/8x8/acme_whatsapp","type":"delivery.read","time":"2025-05-17T06:27:52.450Z",
         "subject":"6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31",
         "data":{"provider":"8x8","source_id":"eightxeight","status":"read","redelivery":false,
           "account":"acme_whatsapp","channel":"whatsapp",
           "recipient":{"msisdn":"+6512345678","channel_user_id":"6512345678"},
           "message":{"id":"6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31","client_message_id":"order-1234-shipped",
             "batch_id":"0b8f3a1e-5c2d-4e6f-8a9b-1c2d3e4f5a6b","client_batch_id":"campaign-77"},
           "pricing_category":"user_initiated"}}
        """),
        ("8x8/undelivered.json", """
        {"id":"9a7e0c4f-3b1d-4f2a-8e6c-5d4b3a2f1e0d:whatsapp:undelivered:rejected_by_operator",
         "source":"/8x8/acme_whatsapp","type":"delivery.undelivered","time":"2016-01-01T00:00:00.000Z",
         "subject":"9a7e0c4f-3b1d-4f2a-8e6c-5d4b3a2f1e0d",
         "data":{"provider":"8x8","source_id":"eightxeight","status":"undelivered","redelivery":false,
           "account":"acme_whatsapp","channel":"whatsapp",
           "recipient":{"msisdn":"+6512345678","channel_user_id":"+6512345678"},
           "message":{"id":"9a7e0c4f-3b1d-4f2a-8e6c-5d4b3a2f1e0d","client_message_id":"order-1234-shipped",
             "batch_id":"0b8f3a1e-5c2d-4e6f-8a9b-1c2d3e4f5a6b","client_batch_id":"campaign-77"},
           "error":{"code":15,"message":"Invalid destination","provider_code":"131009"},
           "detail":"rejected_by_operator"}}
        """),
        ("8x8/sms-undelivered.json", """
        {"id":"9e09ac86-bd74-5465-851d-1eb5a5fdbb9a:sms:undelivered:rejected_by_operator",
         "source":"/8x8/SubAccount-1","type":"delivery.undelivered","time":"2016-01-01T00:00:00.000Z",
         "subject":"9e09ac86-bd74-5465-851d-1eb5a5fdbb9a",
         "data":{"provider":"8x8","source_id":"eightxeight","status":"undelivered","redelivery":false,
           "account":"SubAccount-1","channel":"sms","recipient":{"msisdn":"+12025550293"},
           "message":{"id":"9e09ac86-bd74-5465-851d-1eb5a5fdbb9a","client_message_id":"1e09ac86-bd74-5465-851d-1eb5a5fdbb9b",
             "batch_id":"3e09ac86-bd74-5465-851d-1eb5a5fdbb9b","client_batch_id":"2e09ac86-bd74-5465-851d-1eb5a5fdbb9b"},
           "error":{"code":15,"message":"Invalid destination"},"detail":"rejected_by_operator"}}
        """),
        ("8x8/sms-inbound.json", """
        {"id":"5b2f7e10-8c3a-4f6d-9a41-7e0c2d9b6f13",
         "source":"/8x8/SubAccount-1","type":"message.received","time":"2016-01-01T14:34:56.017Z",
         "subject":"5b2f7e10-8c3a-4f6d-9a41-7e0c2d9b6f13",
         "data":{"provider":"8x8","source_id":"eightxeight","redelivery":false,"account":"SubAccount-1",
           "channel":"sms","sender":{"msisdn":"+6581968289"},"message":{"id":"5b2f7e10-8c3a-4f6d-9a41-7e0c2d9b6f13"}}}
        """),
        ("8x8/chatapps-inbound-v3.json", """
        {"id":"7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
         "source":"/8x8/acme_whatsapp","type":"message.received","time":"2026-06-09T10:13:20.000Z",
         "subject":"7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
         "data":{"provider":"8x8","source_id":"eightxeight","redelivery":false,"account":"acme_whatsapp",
           "channel":"whatsapp","sender":{"msisdn":"+6512345678","channel_user_id":"SG.1234567890"},
           "message":{"id":"7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"}}}
        """),
        ("8x8/external-app-message.json", """
        {"id":"20a5347f-6898-4f39-86ef-b3e100b50929",
         "source":"/8x8/integration_test_whatsapp","type":"message.echo","time":"2026-01-28T09:16:53.000Z",
         "subject":"20a5347f-6898-4f39-86ef-b3e100b50929",
         "data":{"provider":"8x8","source_id":"eightxeight","redelivery":false,"account":"integration_test_whatsapp",
           "channel":"whatsapp","recipient":{"msisdn":"+16505551234","channel_user_id":"16505551234"},
           "message":{"id":"20a5347f-6898-4f39-86ef-b3e100b50929"}}}
        """),
        ("8x8/v9-queued.json", """
        {"id":"3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5061:whatsapp:queued:",
         "source":"/8x8/acme_whatsapp","type":"delivery.queued","time":"2026-07-03T03:21:21.900Z",
         "subject":"3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5061",
         "data":{"provider":"8x8","source_id":"eightxeight","status":"queued","redelivery":false,
           "account":"acme_whatsapp","channel":"whatsapp","recipient":{"msisdn":"+6512345678"},
           "message":{"id":"3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5061"}}}
        """),
        ("8x8/v9-delivered-to-operator.json", """
        {"id":"3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5061:whatsapp:delivered:delivered_to_operator",
         "source":"/8x8/acme_whatsapp","type":"delivery.delivered","time":"2026-07-03T03:21:26.060Z",
         "subject":"3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5061",
         "data":{"provider":"8x8","source_id":"eightxeight","status":"delivered","redelivery":false,
           "account":"acme_whatsapp","channel":"whatsapp","recipient":{"msisdn":"+6512345678"},
           "message":{"id":"3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5061"},"detail":"delivered_to_operator"}}
        """),
    ]

    @Test func everyFixtureHasAnExpectation() throws {
        let files = try TestFiles.fixtureNames(in: "8x8")
        #expect(files.count == 9)
        #expect(Set(files) == Set(Self.expectations.map(\.file)))
    }

    @Test(arguments: expectations)
    func fixtureNormalizesFieldByField(file: String, expected: String) throws {
        let body = try TestFiles.fixture(file)
        let events = try Normalize.events(.eightByEight, body, sourceID: Self.sourceID)
        try #require(events.count == 1)
        let event = events[0]
        let canonical = try Normalize.canonical(event)
        try JSONCheck.expectCanonical(canonical, expected, raw: try JSONParser.parse(body), label: file)
        // The stored summary agrees with the body; 8x8 passthrough is the original bytes.
        #expect(event.id == canonical["id"]?.stringValue)
        #expect(event.type == canonical["type"]?.stringValue)
        #expect(event.eventTime == Timestamp.parse(try #require(canonical["time"]?.stringValue)))
        #expect(event.redelivery == false)
        #expect(event.passthrough == body)
    }

    @Test func deliveredAndReadOfOneMessageAreDifferentEvents() throws {
        let delivered = try Normalize.events(.eightByEight, try TestFiles.fixture("8x8/delivered.json"), sourceID: "e")
        let read = try Normalize.events(.eightByEight, try TestFiles.fixture("8x8/read.json"), sourceID: "e")
        let umid = "6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31"
        #expect(try Normalize.canonical(delivered[0])["subject"] == .string(umid))
        #expect(try Normalize.canonical(read[0])["subject"] == .string(umid))
        #expect(delivered[0].id != read[0].id)
    }

    @Test func queuedAndDeliveredToOperatorAreDifferentEvents() throws {
        let queued = try Normalize.events(.eightByEight, try TestFiles.fixture("8x8/v9-queued.json"), sourceID: "e")
        let toOperator = try Normalize.events(.eightByEight, try TestFiles.fixture("8x8/v9-delivered-to-operator.json"), sourceID: "e")
        #expect(queued[0].id != toOperator[0].id)
        #expect(queued[0].type == "delivery.queued")
        #expect(toOperator[0].type == "delivery.delivered")
    }

    @Test func sameStateOnAnotherChannelIsAnotherEvent() throws {
        let text = String(decoding: try TestFiles.fixture("8x8/delivered.json"), as: UTF8.self)
        let sms = text.replacingOccurrences(of: "\"channel\": \"whatsapp\"", with: "\"channel\": \"SMS\"")
        #expect(sms != text)
        let a = try Normalize.events(.eightByEight, text)[0]
        let b = try Normalize.events(.eightByEight, sms)[0]
        #expect(a.id != b.id)
        #expect(try Normalize.canonical(b)["data"]?["channel"] == .string("sms"))
    }

    @Test func sevenFractionalDigitsBecomeMilliseconds() throws {
        let event = try Normalize.events(.eightByEight, try TestFiles.fixture("8x8/v9-delivered-to-operator.json"), sourceID: "e")[0]
        #expect(try Normalize.canonical(event)["time"] == .string("2026-07-03T03:21:26.060Z"))
        #expect(event.eventTime == 1_783_048_886_060)
    }

    @Test func channelIsLowerCased() throws {
        let event = try Normalize.events(.eightByEight, try TestFiles.fixture("8x8/read.json"), sourceID: "e")[0]
        let canonical = try Normalize.canonical(event)
        #expect(canonical["data"]?["channel"] == .string("whatsapp"))
        // raw keeps the provider's spelling.
        #expect(canonical["data"]?["raw"]?["payload"]?["channel"] == .string("whatsApp"))
    }

    @Test func absentMsisdnIsFine() throws {
        let onlyUserID = """
            {"namespace":"ChatApps","eventType":"outbound_message_status_changed","payload":{"umid":"u-1",
             "subAccountId":"acc","channel":"viber","user":{"channelUserId":"vb-42"},
             "status":{"state":"delivered","timestamp":"2025-05-05T09:15:57Z"}}}
            """
        let a = try Normalize.canonical(try Normalize.events(.eightByEight, onlyUserID)[0])
        #expect(JSONCheck.sameData(a["data"]?["recipient"], .object(["channel_user_id": .string("vb-42")])))
        let noUser = onlyUserID.replacingOccurrences(of: "\"user\":{\"channelUserId\":\"vb-42\"},", with: "")
        let b = try Normalize.canonical(try Normalize.events(.eightByEight, noUser)[0])
        #expect(b["data"]?["recipient"] == nil)
        #expect(b["type"] == .string("delivery.delivered"))
        #expect(b["id"] == .string("u-1:viber:delivered:"))
    }

    @Test func eventIDWinsAsDedupKey() throws {
        let text = """
            {"namespace":"ChatApps","eventType":"business_profile_updated","eventId":"evt-77","payload":{"subAccountId":"acc"}}
            """
        let event = try Normalize.events(.eightByEight, text)[0]
        #expect(event.id == "evt-77")
        #expect(event.type == "8x8.business_profile_updated")
        #expect(try Normalize.canonical(event)["source"] == .string("/8x8/acc"))
        // No payload at all is fine when there is an eventId.
        let bare = #"{"namespace":"ChatApps","eventType":"template_status_changed","eventId":"evt-78"}"#
        #expect(try Normalize.events(.eightByEight, bare).first?.id == "evt-78")
        // An eventId beats the umid even where a umid exists.
        let both = #"{"namespace":"ChatApps","eventType":"x_changed","eventId":"evt-79","payload":{"umid":"u-9"}}"#
        #expect(try Normalize.events(.eightByEight, both).first?.id == "evt-79")
    }
}
