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
        /// Nothing until then.
        case open(untilMilliseconds: Int64)
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
        var openUntil: Int64 = 0
    }

    private let inner = Mutex(Inner())

    var state: State { inner.withLock { $0.state } }
    var snapshot: (state: State, sinceMilliseconds: Int64) { inner.withLock { ($0.state, $0.sinceMilliseconds) } }
    /// Failures that speak of the destination's health in a row, up to now.
    var streak: Int { inner.withLock { $0.streak } }

    func gate(nowMilliseconds now: Int64, settings: BreakerSettings?) -> Gate {
        inner.withLock { inner in
            if settings == nil, inner.state != .closed {
                // `breaker: off` by a reload: back to the plain schedule.
                inner = Inner(state: .closed, sinceMilliseconds: now)
            }
            switch inner.state {
            case .closed: return .closed
            case .halfOpen: return .probing
            case .open: return now >= inner.openUntil ? .probeDue : .open(untilMilliseconds: inner.openUntil)
            }
        }
    }

    /// The probe starts (after `gate` said `.probeDue`).
    func startProbe(nowMilliseconds now: Int64) {
        inner.withLock { inner in
            guard inner.state == .open else { return }
            inner.state = .halfOpen
        }
    }

    /// Records one attempt's reading (a batch request is one); says what changed.
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
                    inner.openUntil = now + inner.cooldown.milliseconds
                    return .reopened(cooldown: inner.cooldown)
                case .closed where inner.streak >= settings.failures:
                    inner.cooldown = settings.cooldown
                    inner.state = .open
                    inner.sinceMilliseconds = now
                    inner.openUntil = now + inner.cooldown.milliseconds
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
        if let status = result.status {
            return status >= 500 || status == 408 || status == 429 ? .unhealthy : .healthy
        }
        switch result.error {
        case .connectionRefused?, .connectionReset?, .connectionClosed?, .dnsFailure?, .tlsFailure?, .connectTimeout?, .timeout?, .other?:
            return .unhealthy
        case .httpStatus(let code)?:
            return code >= 500 || code == 408 || code == 429 ? .unhealthy : .healthy
        case .responseTooLarge?, .requestNotBuilt?, nil:
            return .healthy
        }
    }
}

/// The pauses in force (SPEC section 12), as this instance last read them from the store or set them itself: every
/// worker looks here before it claims or starts an attempt.
public final class PauseBoard: Sendable {
    private let pauses = Mutex<[String: DestinationPauseState]>([:])

    public init() {}

    /// `destination`'s pause in force at `now`, if any.
    public func pause(of destination: String, nowMilliseconds now: Int64) -> DestinationPauseState? {
        guard let pause = pauses.withLock({ $0[destination] }) else { return nil }
        if let until = pause.untilMilliseconds, until <= now { return nil }
        return pause
    }

    /// Replaces the whole board; returns the destinations whose pause ended or changed.
    @discardableResult
    func replace(_ new: [String: DestinationPauseState]) -> [String] {
        pauses.withLock { current in
            let changed = Set(current.keys).union(new.keys).filter { current[$0] != new[$0] }
            current = new
            return Array(changed)
        }
    }

    func set(_ destination: String, _ pause: DestinationPauseState?) {
        pauses.withLock { $0[destination] = pause }
    }
}

/// A pause as the board holds it.
public struct DestinationPauseState: Sendable, Equatable {
    public var sinceMilliseconds: Int64
    public var untilMilliseconds: Int64?

    public init(sinceMilliseconds: Int64, untilMilliseconds: Int64?) {
        self.sinceMilliseconds = sinceMilliseconds
        self.untilMilliseconds = untilMilliseconds
    }
}

/// A destination's state as `relay stats`, `/admin/stats` and `relay_destination_state` show it.
public struct DestinationState: Sendable, Equatable {
    /// `closed`, `open`, `half_open` or `paused`.
    public var state: String
    public var sinceMilliseconds: Int64
    /// A pause's end, when it has one.
    public var untilMilliseconds: Int64?

    public init(state: String, sinceMilliseconds: Int64, untilMilliseconds: Int64?) {
        self.state = state
        self.sinceMilliseconds = sinceMilliseconds
        self.untilMilliseconds = untilMilliseconds
    }
}

/// Starts attempts no faster than `rate` per second (SPEC section 12): each start takes the next slot, one interval
/// after the previous one, so over any few seconds the count is within one of rate × time.
final class RateGate: Sendable {
    private let next = Mutex<ContinuousClock.Instant?>(nil)

    /// Takes a slot now if one is free; otherwise says how long until the next is.
    func take(rate: Double?, now: ContinuousClock.Instant = .now) -> Duration? {
        guard let rate, rate > 0 else { return nil }
        let interval = Duration.nanoseconds(Int64(1e9 / rate))
        return next.withLock { next in
            let slot = next ?? now
            if slot > now { return slot - now }
            // A start a little late keeps the cadence; a gate idle for longer banks nothing: it restarts from now.
            next = (slot < now - interval ? now : slot) + interval
            return nil
        }
    }
}

/// `relay_destination_state{destination,state}`: 1 for the state it is in, 0 for the others.
struct DestinationStateGauge: Sendable {
    static let states = ["closed", "open", "half_open", "paused"]
    let gauges: [String: Gauge]

    init(destination: String) {
        var gauges: [String: Gauge] = [:]
        for state in Self.states { gauges[state] = Gauge(label: "relay_destination_state", dimensions: [("destination", destination), ("state", state)]) }
        self.gauges = gauges
    }

    func record(_ current: String) {
        for (state, gauge) in gauges { gauge.record(state == current ? 1 : 0) }
    }
}

/// What a destination's worker did lately, for the console: attempts per second over the last minute (60 one-second
/// buckets), and its last failure.
final class RecentActivity: Sendable {
    private struct Inner {
        var buckets = [Int](repeating: 0, count: 60)
        var bucketSecond = [Int64](repeating: 0, count: 60)
        var lastError: String?
        var lastErrorAt: Int64?
    }
    private let inner = Mutex(Inner())

    func attempted(nowMilliseconds now: Int64, error: String?) {
        let second = now / 1000
        let slot = Int(second % 60)
        inner.withLock { inner in
            if inner.bucketSecond[slot] != second {
                inner.bucketSecond[slot] = second
                inner.buckets[slot] = 0
            }
            inner.buckets[slot] += 1
            if let error {
                inner.lastError = error
                inner.lastErrorAt = now
            }
        }
    }

    func snapshot(nowMilliseconds now: Int64) -> DestinationActivity {
        let second = now / 1000
        return inner.withLock { inner in
            var total = 0
            for slot in 0..<60 where second - inner.bucketSecond[slot] < 60 { total += inner.buckets[slot] }
            return DestinationActivity(attemptsPerSecond: Double(total) / 60, lastError: inner.lastError, lastErrorAtMilliseconds: inner.lastErrorAt)
        }
    }
}

/// A destination's recent attempts on this instance.
public struct DestinationActivity: Sendable, Equatable {
    public var attemptsPerSecond: Double
    public var lastError: String?
    public var lastErrorAtMilliseconds: Int64?
}
