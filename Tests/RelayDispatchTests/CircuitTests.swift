@testable import RelayDispatch
import RelayCore
import Testing

/// The circuit on its own (SPEC section 12, issue 24): its cooldown runs on the monotonic clock, and every way a probe
/// can end ends it.
struct CircuitTests {
    let settings = BreakerSettings(failures: 2, cooldown: .seconds(10), maxCooldown: .seconds(60))

    func opened() -> Circuit {
        let circuit = Circuit()
        for _ in 0..<2 { _ = circuit.record(.unhealthy, settings: settings, nowMilliseconds: 0) }
        return circuit
    }

    @Test func theCooldownIsMeasuredOnTheMonotonicClock() {
        let circuit = opened()
        let now = ContinuousClock.now
        guard case .open(let until) = circuit.gate(now: now, settings: settings) else { Issue.record("not open"); return }
        #expect(until - now > .seconds(9) && until - now <= .seconds(10))
        #expect(circuit.gate(now: now + .seconds(11), settings: settings) == .probeDue)
    }

    /// A probe whose request could not be built (a reload removed the key it is signed with) used to leave the
    /// circuit half-open with nothing in flight, for good: 20 s later, 0 requests and 5 jobs pending.
    @Test func aProbeThatEndsWithoutAReadingLetsTheNextJobProbe() {
        let circuit = opened()
        let later = ContinuousClock.now + .seconds(11)
        #expect(circuit.gate(now: later, settings: settings) == .probeDue)
        circuit.startProbe()
        #expect(circuit.gate(now: later, settings: settings) == .probing)
        circuit.abandonProbe()
        #expect(circuit.state == .open)
        #expect(circuit.gate(settings: settings) == .probeDue)
        // A reading after that still closes it.
        circuit.startProbe()
        #expect(circuit.record(.healthy, settings: settings, nowMilliseconds: 0) == .closed)
    }
}
