import Metrics
import RelayCore
import Synchronization

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
