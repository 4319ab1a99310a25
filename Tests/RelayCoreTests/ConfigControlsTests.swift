import RelayCore
import Testing

/// Delivery controls' keys (SPEC section 12): `breaker` and `rate` on destinations.
@Suite("Config: delivery controls")
struct ConfigControlsTests {
    static func destination(_ extra: String) -> String { "  crm:\n    url: http://crm.internal/x\n" + extra }

    @Test func breakerDefaultsOffAndSettings() throws {
        let plain = try ConfigLoader.parse(yaml: Fixture.document(), environment: [:])
        #expect(plain.destination("crm")?.breaker == BreakerSettings(failures: 5, cooldown: .seconds(10), maxCooldown: .seconds(300)))
        #expect(plain.destination("crm")?.rate == nil)
        let off = try ConfigLoader.parse(yaml: Fixture.document(destinations: Self.destination("    breaker: off")), environment: [:])
        #expect(off.destination("crm")?.breaker == nil)
        #expect(off.summary().contains("breaker off"))
        let tuned = try ConfigLoader.parse(yaml: Fixture.document(destinations: Self.destination(
            "    breaker:\n      failures: 3\n      cooldown: 2s\n      max_cooldown: 1m\n    rate: 600/m")), environment: [:])
        #expect(tuned.destination("crm")?.breaker == BreakerSettings(failures: 3, cooldown: .seconds(2), maxCooldown: .seconds(60)))
        #expect(tuned.destination("crm")?.rate == 10)
        #expect(tuned.summary().contains("rate 10/s") && tuned.summary().contains("breaker after 3 failures, cooldown 2s to 1m"))
        let slow = try ConfigLoader.parse(yaml: Fixture.document(destinations: Self.destination("    rate: 30/m")), environment: [:])
        #expect(slow.destination("crm")?.rate == 0.5 && slow.summary().contains("rate 30/m"))
    }

    @Test func badValuesAreErrorsWithTheirKeyPath() {
        let issues = Fixture.issues(Fixture.document(destinations: Self.destination(
            "    breaker:\n      failures: 0\n      cooldown: 10s\n      max_cooldown: 5s\n      tripwire: 1\n    rate: fast")))
        #expect(issues.map(\.path) == [
            "destinations.crm.breaker.failures", "destinations.crm.breaker.max_cooldown", "destinations.crm.breaker.tripwire", "destinations.crm.rate",
        ], "\(issues)")
        #expect(issues.last?.message.contains("e.g. 50/s or 600/m") == true)
        #expect(Fixture.issues(Fixture.document(destinations: Self.destination("    breaker: sometimes"))).map(\.path) == ["destinations.crm.breaker"])
        for bad in ["0/s", "-5/s", "5/h", "5", "1e3/s"] {
            #expect(Fixture.issues(Fixture.document(destinations: Self.destination("    rate: \"\(bad)\""))).map(\.path) == ["destinations.crm.rate"], "\(bad)")
        }
    }

    /// `ordering` (SPEC section 14): `none` by default, `subject` shown in the summary, anything else an error that
    /// names the key path and line and the values it takes.
    @Test func orderingDefaultsToNoneAndIsShown() throws {
        let plain = try ConfigLoader.parse(yaml: Fixture.document(), environment: [:])
        #expect(plain.destination("crm")?.ordering == DeliveryOrdering.none)
        #expect(plain.orderedDestinations.isEmpty)
        let ordered = try ConfigLoader.parse(yaml: Fixture.document(destinations: Self.destination("    ordering: subject")), environment: [:])
        #expect(ordered.destination("crm")?.ordering == .subject)
        #expect(ordered.orderedDestinations == ["crm"])
        #expect(ordered.summary().contains("ordered by subject"))
        #expect(!plain.summary().contains("ordered by subject"))
        let issues = Fixture.issues(Fixture.document(destinations: Self.destination("    ordering: fifo")))
        #expect(issues.map(\.path) == ["destinations.crm.ordering"])
        #expect(issues.first?.line != nil && issues.first?.message.contains("expected none or subject") == true, "\(issues)")
    }
}
