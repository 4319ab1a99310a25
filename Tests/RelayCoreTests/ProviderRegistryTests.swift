import Testing

@testable import RelayCore

/// What the registry derives from the providers, in the words and order users saw before it existed.
@Suite struct ProviderRegistryTests {
    @Test func namesInRegistryOrder() {
        #expect(ProviderKind.allCases == [.line, .eightByEight])
        #expect(ProviderRegistry.namesInWords == "line or 8x8")
        #expect(ProviderRegistry.provider(named: "nope")?.kind == nil)
        #expect(ProviderRegistry.provider(ofSample: "8x8-read")?.kind == .eightByEight)
        #expect(ProviderRegistry.all.flatMap(\.sampleNames) == [
            "line-delivery", "line-message", "line-follow", "8x8-delivered", "8x8-read", "8x8-undelivered", "8x8-inbound",
            "8x8-sms-undelivered",
        ])
    }

    @Test func schemaTakesTheProviderNamesFromTheRegistry() {
        #expect(CanonicalEventSchema.text.contains(#""pattern": "^/(line|8x8)/.+$""#))
        #expect(CanonicalEventSchema.text.contains(#"message\\.echo|line\\..+|8x8\\..+)$""#))
        #expect(CanonicalEventSchema.text.contains(#""provider": { "enum": ["line", "8x8"] },"#))
    }

    /// The ingest-time envelope and the one rebuilt from a stored canonical event are the same bytes.
    @Test func passthroughEnvelopeIsBuiltInOnePlace() throws {
        let body = #"{"destination":"Uabc","events":[{"type":"follow","webhookEventId":"01H","timestamp":1700000000000}]}"#
        let provider = LINEProvider()
        let event = try #require(try provider.events(from: Array(body.utf8), sourceID: "s", receivedAtMilliseconds: 0).first)
        #expect(event.passthrough == Array(body.utf8))
        #expect(provider.passthroughBody(canonical: event.canonical) == event.passthrough)
    }

    /// SPEC section 10's order within one channel.
    @Test(arguments: [
        ("queued", nil, 1), ("sent", nil, 2), ("delivered", "delivered_to_operator", 3), ("delivered", "delivered_to_recipient", 4),
        ("delivered", nil, 4), ("undelivered", "rejected_by_operator", 4), ("failed", nil, 4), ("rejected", nil, 4), ("read", nil, 5),
        ("unknown", nil, nil), ("teleported", nil, nil),
    ] as [(String, String?, Int?)])
    func eightByEightStatusRank(status: String, detail: String?, rank: Int?) {
        #expect(EightByEightProvider().statusRank(status: status, detail: detail) == rank)
        // LINE's one receipt, the delivery completion, ranks as delivered; nothing else of LINE's is a status.
        #expect(LINEProvider().statusRank(status: status, detail: detail) == (status == "delivered" ? 4 : nil))
    }
}
