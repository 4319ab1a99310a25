import RelayCore
import Testing

/// The receipt ledger's keys (SPEC section 10): `advancing_only` on routes, `expect_receipt` on sources,
/// `message_window` at the top.
@Suite("Config: receipt ledger keys")
struct ConfigLedgerTests {
    static let twoRoutes = """
          - to: [crm]
          - to: [crm, bot]
            advancing_only: true
        """
    static let twoDestinations = "  crm:\n    url: http://crm.internal/x\n  bot:\n    url: http://bot.internal/x"

    @Test func keysAreReadAndShownInTheSummary() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.document(
            top: "message_window: 20d",
            sources: "  line:\n    provider: line\n    channel_secret: abc\n    expect_receipt: 10m",
            destinations: Self.twoDestinations, routes: Self.twoRoutes), environment: [:])
        #expect(config.messageWindow == .seconds(20 * 86_400))
        #expect(config.source("line")?.expectReceipt == .seconds(600))
        #expect(config.routes.map(\.advancingOnly) == [false, true])
        let summary = config.summary()
        #expect(summary.contains("message_window 20d") && summary.contains("expect_receipt 10m") && summary.contains("(advancing only)"))
        // A destination a plain route names gets every event; the advancing-only route adds only the others.
        let routing = config.routing(forSource: "line", type: "delivery.read")
        #expect(routing.always == ["crm"] && routing.ifAdvancing == ["bot"])
    }

    @Test func defaults() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.document(), environment: [:])
        #expect(config.messageWindow == .seconds(14 * 86_400))
        #expect(config.source("line")?.expectReceipt == nil)
        #expect(config.routes.map(\.advancingOnly) == [false])
    }

    @Test func badValuesAreErrorsWithTheirKeyPath() {
        let issues = Fixture.issues(Fixture.document(
            top: "message_window: forever",
            sources: "  line:\n    provider: line\n    channel_secret: abc\n    expect_receipt: -5s",
            routes: "  - to: [crm]\n    advancing_only: yes please"))
        #expect(issues.map(\.path) == ["message_window", "sources.line.expect_receipt", "routes[0].advancing_only"])
        #expect(issues.last?.message == "expected true or false, found \"yes please\"")
        #expect(Fixture.issues(Fixture.document(routes: "  - to: [crm]\n    advancing_only: [true]")).map(\.path) == ["routes[0].advancing_only"])
        #expect(Fixture.issues(Fixture.document(
            sources: "  line:\n    provider: line\n    channel_secret: abc\n    expect_receipt: 90d")).first?.message.contains("too long") == true)
    }
}
