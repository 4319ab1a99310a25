import RelayCore
import Testing

@Suite("Config routing and output")
struct ConfigRoutingTests {
    static let yaml = """
        retry: [2s, 4s]
        sources:
          line: { provider: line, channel_secret: abc }
          e: { provider: 8x8, auth: { bearer: tok } }
        destinations:
          crm: { url: "http://crm/x", retry: [1m] }
          bot: { url: "http://bot/x" }
          audit: { url: "https://audit/x" }
        routes:
          - from: [line, e]
            types: ["delivery.*"]
            to: [crm]
          - from: [line]
            to: [bot, crm]
          - types: ["message.?ent", "x.*"]
            to: [audit, audit]
        """

    @Test func routeMatching() {
        let route = RouteConfig(from: ["line"], types: ["delivery.*"], to: ["crm"])
        #expect(route.matches(sourceID: "line", type: "delivery.read"))
        #expect(!route.matches(sourceID: "e", type: "delivery.read"))
        #expect(!route.matches(sourceID: "line", type: "message.received"))
        let all = RouteConfig(to: ["crm"])
        #expect(all.matches(sourceID: "anything", type: "any.type"))
    }

    @Test func destinationsForSourceAreDeduplicatedInConfigOrder() throws {
        let config = try ConfigLoader.parse(yaml: Self.yaml, environment: [:])
        #expect(config.destinations(forSource: "line", type: "delivery.failed") == ["crm", "bot"])
        #expect(config.destinations(forSource: "e", type: "delivery.read") == ["crm"])
        #expect(config.destinations(forSource: "line", type: "message.sent") == ["bot", "crm", "audit"])
        #expect(config.destinations(forSource: "e", type: "message.sent") == ["audit"])
        #expect(config.destinations(forSource: "e", type: "other") == [])
        #expect(config.destinations(forSource: "unknown", type: "x.y") == ["audit"])
    }

    @Test func retryScheduleUsesOverride() throws {
        let config = try ConfigLoader.parse(yaml: Self.yaml, environment: [:])
        #expect(config.retrySchedule(for: "crm") == [.seconds(60)])
        #expect(config.retrySchedule(for: "bot") == [.seconds(2), .seconds(4)])
        #expect(config.retrySchedule(for: "missing") == [.seconds(2), .seconds(4)])
    }

    @Test func summaryIsShortAndComplete() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.example, environment: Fixture.exampleEnvironment)
        let summary = config.summary()
        let lines = summary.split(separator: "\n")
        #expect(lines.count < 25)
        #expect(lines.first == "listen: 0.0.0.0:8080")
        #expect(summary.contains("admin: 127.0.0.1:8081"))
        #expect(summary.contains("sqlite ./data/relay.db"))
        #expect(summary.contains("retry: 1s, 10s, 30s, 90s then dead letter, jitter 10%"))
        #expect(summary.contains("line (line, LINE signature (1 channel secret))"))
        #expect(summary.contains("eightxeight (8x8, basic auth (user relay)"))
        #expect(summary.contains("crm -> http://crm.internal:8000/delivery-events (canonical, signed)"))
        #expect(summary.contains("legacy-line-bot -> http://bot.internal:3000/callback (passthrough, LINE re-signed)"))
        #expect(summary.contains("line, eightxeight -> delivery.* -> crm"))
        #expect(summary.contains("line -> * -> legacy-line-bot"))
    }

    @Test func urlCredentialsAreRedacted() {
        let destination = DestinationConfig(id: "d", url: "https://user:pw@host:8443/path?q=1")
        #expect(destination.redactedURL == "https://***@host:8443/path?q=1")
        #expect(DestinationConfig(id: "d", url: "http://host/a@b").redactedURL == "http://host/a@b")
    }
}
