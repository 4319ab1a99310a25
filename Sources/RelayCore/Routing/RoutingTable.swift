/// Where an event goes: the one place that reads `routes` (SPEC sections 3, 10 and 16). It takes the normalized
/// event and answers its destinations: `always`, whatever its progress, and `ifAdvancing`, only when it advances its
/// message (routes with `advancing_only: true`, less the destinations a plain route already names). The store applies
/// the second list once it knows the progress; nothing else routes.
///
/// A route matches when its `from` names the source (or is absent), a `types` glob matches the type (or is absent)
/// and its `where` holds. Filters were compiled when the configuration was loaded; they read the event's fields as
/// the normalizer made them, and parse the stored body only for an event without them (one parse per event, not per
/// route).
public struct RoutingTable: Sendable {
    public let routes: [RouteConfig]
    let destinations: [DestinationConfig]

    public init(routes: [RouteConfig], destinations: [DestinationConfig]) {
        self.routes = routes
        self.destinations = destinations
    }

    /// What the table decided for one event.
    public struct Decision: Sendable, Equatable {
        public var always: [String] = []
        public var ifAdvancing: [String] = []
        /// Indexes (in `routes`) of the routes that matched.
        public var routes: [Int] = []
        /// Whether a destination named wants the provider's own format.
        public var keepPassthrough = false
    }

    /// Where `event` of `sourceID` goes. `providerFormat: false` for relay's own events (no provider body to pass
    /// through): `passthrough` destinations do not get them, and nothing goes only if advancing.
    public func route(_ event: IncomingEvent, sourceID: String, providerFormat: Bool = true) -> Decision {
        var parsed: JSONValue??  // the stored body, parsed at most once, and only if a filter needs it
        var decision = decide(sourceID: sourceID, type: event.type) { filter in
            if let fields = event.fields { return filter.matches(fields) }
            if parsed == nil { parsed = .some(try? JSONParser.parse(event.canonical)) }
            guard let value = parsed ?? nil else { return false }
            return filter.matches(value)
        }
        if !providerFormat {
            decision.always.removeAll { id in destinations.first { $0.id == id }?.format == .passthrough }
            decision.ifAdvancing = []
        }
        let named = decision.always + decision.ifAdvancing
        decision.keepPassthrough = destinations.contains { $0.format == .passthrough && named.contains($0.id) }
        return decision
    }

    /// The routing of an event of this source and type, with `holds` deciding each route's `where`.
    func decide(sourceID: String, type: String, holds: (EventFilter) -> Bool) -> Decision {
        var decision = Decision()
        for (index, route) in routes.enumerated() where route.matches(sourceID: sourceID, type: type) {
            if let filter = route.filter, !holds(filter) { continue }
            decision.routes.append(index)
            for id in route.to {
                if route.advancingOnly {
                    if !decision.always.contains(id) && !decision.ifAdvancing.contains(id) { decision.ifAdvancing.append(id) }
                } else if !decision.always.contains(id) {
                    decision.always.append(id)
                    decision.ifAdvancing.removeAll { $0 == id }
                }
            }
        }
        return decision
    }
}
