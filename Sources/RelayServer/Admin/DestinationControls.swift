import Foundation
import RelayCore
import RelayDispatch
import RelayStore

/// Pause, resume and the destinations' states (SPEC section 12), for the admin API and the CLI: through the running
/// dispatcher when there is one (it applies a change at once and keeps the circuits), else on the store alone (a
/// running relay reads it within half a second).
public struct DestinationControls: Sendable {
    let store: any Store
    let dispatcher: Dispatcher?

    public init(store: any Store, dispatcher: Dispatcher? = nil) {
        self.store = store
        self.dispatcher = dispatcher
    }

    /// Pauses `destination` and returns once every live instance (one that said it was alive within the last
    /// `liveWithin`) acknowledged it, so none starts a new attempt for it (SPEC section 12). An instance that does
    /// not within `acknowledgeWithin` (frozen, cut off from the store) is returned, by name, and the pause still
    /// stands: it stops when it next reads the store, and if it never does its claims lapse to the others, who obey.
    @discardableResult
    public func pause(_ destination: String, untilMilliseconds: Int64?) async throws(StoreError) -> [String] {
        if let dispatcher {
            try await dispatcher.pause(destination, untilMilliseconds: untilMilliseconds)
        } else {
            try await store.pause(destination: destination, untilMilliseconds: untilMilliseconds, nowMilliseconds: Timestamp.nowMilliseconds())
        }
        return try await awaitAcknowledgements(of: try await store.pauseVersion())
    }

    /// How long a pause waits for the instances' acknowledgements, and which count as alive.
    public static let acknowledgeWithin: Duration = .seconds(5)
    static let liveWithin: Int64 = 6_000

    /// The live instances that have not acknowledged `version` within `acknowledgeWithin`.
    func awaitAcknowledgements(of version: Int64) async throws(StoreError) -> [String] {
        let deadline = ContinuousClock.now + Self.acknowledgeWithin
        while true {
            let acks = try await store.pauseAcknowledgements(withinMilliseconds: Self.liveWithin, nowMilliseconds: Timestamp.nowMilliseconds())
            let behind = acks.filter { $0.version < version }.map(\.instance)
            if behind.isEmpty || ContinuousClock.now >= deadline { return behind }
            try? await Task.sleep(for: .milliseconds(25))
        }
    }

    public func resume(_ destination: String) async throws(StoreError) -> Bool {
        if let dispatcher { return try await dispatcher.resume(destination) }
        return try await store.resume(destination: destination, nowMilliseconds: Timestamp.nowMilliseconds())
    }

    /// Each destination's state: the dispatcher's (pauses and this instance's circuits), or, without one, the store's
    /// pauses only (a circuit lives in the instance that runs it).
    public func states() async throws(StoreError) -> [String: DestinationState] {
        if let dispatcher { return dispatcher.destinationStates() }
        var states: [String: DestinationState] = [:]
        for pause in try await store.pauses(nowMilliseconds: Timestamp.nowMilliseconds()) {
            states[pause.destination] = DestinationState(state: "paused", sinceMilliseconds: pause.sinceMilliseconds, untilMilliseconds: pause.untilMilliseconds)
        }
        return states
    }

    /// `--until` / `"until"`: an RFC 3339 time in the future.
    public static func until(_ text: String, nowMilliseconds: Int64) throws(APIError) -> Int64 {
        guard let at = Timestamp.parse(text) else { throw .invalidRequest("until must be an RFC 3339 time such as 2026-12-01T18:00:00Z, not \"\(text.prefix(64))\"") }
        guard at > nowMilliseconds else { throw .invalidRequest("until (\(Timestamp.format(epochMilliseconds: at))) is in the past") }
        return at
    }
}

/// One destination in `GET /admin/destinations` and `relay destinations list --json`.
public struct DestinationStateBody: Encodable, Sendable {
    public var destination: String
    /// `closed`, `open`, `half_open`, `paused`; null when not known here (the CLI cannot see a running instance's circuit).
    public var state: String?
    public var since: String?
    public var until: String?

    public init(destination: String, state: DestinationState?) {
        self.destination = destination
        self.state = state?.state
        self.since = state.map { Timestamp.format(epochMilliseconds: $0.sinceMilliseconds) }
        self.until = state?.untilMilliseconds.map { Timestamp.format(epochMilliseconds: $0) }
    }

    enum CodingKeys: String, CodingKey { case destination, state, since, until }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(destination, forKey: .destination)
        try container.encode(state, forKey: .state)
        try container.encode(since, forKey: .since)
        try container.encode(until, forKey: .until)
    }

    public static func list(_ config: RelayConfig, _ states: [String: DestinationState]) -> [DestinationStateBody] {
        config.destinations.map { DestinationStateBody(destination: $0.id, state: states[$0.id]) }
    }
}
