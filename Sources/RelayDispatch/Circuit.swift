import Metrics
import RelayCore
import Synchronization

/// One destination's circuit on this instance (SPEC section 12).
///
/// Consecutive attempts that fail in a way that speaks of the destination's health (no connection, a timeout, 5xx,
/// 408, 429) open it at `breaker.failures`; while open no job is attempted, and after the cooldown one job is, as a
/// probe. The probe's success closes it; its failure opens it again for twice the cooldown (up to `max_cooldown`).
/// Any reply that is not such a failure (a 2xx, a 400) resets the count: the destination is up.
///
/// Each instance keeps its own: what it knows is what its own attempts saw, it costs no store round trip per
/// attempt, and an instance that cannot reach a destination (its own network) stops without stopping the others.
/// What must hold on every instance, a pause, is in the store.
final class Circuit: Sendable {
    enum State: String, Sendable, CaseIterable {
        case closed, open
        case halfOpen = "half_open"
    }

    /// What may start now.
    enum Gate: Equatable {
        case closed
        /// Nothing until then (a monotonic instant: a wall clock stepped back must not hold the circuit open).
        case open(until: ContinuousClock.Instant)
        /// The cooldown is over: one probe may start.
        case probeDue
        /// A probe is under way: nothing else until its outcome.
        case probing
    }

    /// How an attempt ended, for the circuit.
    enum Reading: Equatable {
        case healthy
        case unhealthy
    }

    enum Transition: Equatable {
        case opened(cooldown: Duration)
        case reopened(cooldown: Duration)
        case closed
    }

    private struct Inner {
        var state: State = .closed
        var sinceMilliseconds = Timestamp.nowMilliseconds()
        var streak = 0
        var cooldown: Duration = .zero
        var openUntil = ContinuousClock.now
    }

    private let inner = Mutex(Inner())

    var state: State { inner.withLock { $0.state } }
    var snapshot: (state: State, sinceMilliseconds: Int64) { inner.withLock { ($0.state, $0.sinceMilliseconds) } }
    /// Failures that speak of the destination's health in a row, up to now.
    var streak: Int { inner.withLock { $0.streak } }

    func gate(now: ContinuousClock.Instant = .now, settings: BreakerSettings?) -> Gate {
        inner.withLock { inner in
            if settings == nil, inner.state != .closed {
                // `breaker: off` by a reload: back to the plain schedule.
                inner = Inner(state: .closed, sinceMilliseconds: Timestamp.nowMilliseconds())
            }
            switch inner.state {
            case .closed: return .closed
            case .halfOpen: return .probing
            case .open: return now >= inner.openUntil ? .probeDue : .open(until: inner.openUntil)
            }
        }
    }

    /// The probe starts (after `gate` said `.probeDue`).
    func startProbe() {
        inner.withLock { inner in
            guard inner.state == .open else { return }
            inner.state = .halfOpen
        }
    }

    /// A probe ended without a reading (its request could not be built, or shutdown cancelled it): the circuit is open
    /// again with its cooldown over, so the next job probes at once. Nothing when no probe is under way.
    func abandonProbe() {
        inner.withLock { inner in
            guard inner.state == .halfOpen else { return }
            inner.state = .open
            inner.openUntil = .now
        }
    }

    /// Records one attempt's reading (a batch request is one); says what changed. `now` (wall clock) is only what
    /// `relay stats` shows as "since"; the cooldown runs on the monotonic clock.
    func record(_ reading: Reading, settings: BreakerSettings?, nowMilliseconds now: Int64) -> Transition? {
        guard let settings else { return nil }
        return inner.withLock { inner -> Transition? in
            switch reading {
            case .healthy:
                inner.streak = 0
                guard inner.state != .closed else { return nil }
                inner.state = .closed
                inner.sinceMilliseconds = now
                inner.cooldown = .zero
                return .closed
            case .unhealthy:
                inner.streak += 1
                switch inner.state {
                case .halfOpen:
                    inner.cooldown = min(inner.cooldown * 2, settings.maxCooldown)
                    inner.state = .open
                    inner.openUntil = .now + inner.cooldown
                    return .reopened(cooldown: inner.cooldown)
                case .closed where inner.streak >= settings.failures:
                    inner.cooldown = settings.cooldown
                    inner.state = .open
                    inner.sinceMilliseconds = now
                    inner.openUntil = .now + inner.cooldown
                    return .opened(cooldown: inner.cooldown)
                case .closed, .open:
                    return nil
                }
            }
        }
    }

    /// Whether a failed attempt's result speaks of the destination's health rather than of the one event.
    static func reading(_ result: Forwarder.Result) -> Reading {
        if result.succeeded { return .healthy }
        let unhealthy = { (code: Int) in code >= 500 || code == 408 || code == 429 }
        if let status = result.status { return unhealthy(status) ? .unhealthy : .healthy }
        switch result.error {
        case .connectionRefused?, .connectionReset?, .connectionClosed?, .dnsFailure?, .tlsFailure?, .connectTimeout?, .timeout?, .other?,
             .malformedResponse?:
            return .unhealthy
        case .httpStatus(let code)?:
            return unhealthy(code) ? .unhealthy : .healthy
        case .responseTooLarge?, .requestNotBuilt?, .cancelled?, nil:
            return .healthy
        }
    }
}
