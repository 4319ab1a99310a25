/// Sends events of some sources and types to some destinations.
public struct RouteConfig: Sendable, CustomStringConvertible {
    /// Source ids this route applies to; nil means every source.
    public var from: [String]?
    /// Canonical event type globs (`*`, `?`); nil means every type.
    public var types: [String]?
    /// Destination ids that receive matching events.
    public var to: [String]
    /// Whether only events that advance their message go through (SPEC section 10); events outside the ledger never do.
    public var advancingOnly: Bool
    /// `where`: conditions on the canonical event, compiled at load (SPEC section 16); nil: none.
    public var filter: EventFilter?

    /// Creates a route.
    public init(from: [String]? = nil, types: [String]? = nil, to: [String], advancingOnly: Bool = false, filter: EventFilter? = nil) {
        self.filter = filter
        self.from = from
        self.types = types
        self.to = to
        self.advancingOnly = advancingOnly
    }

    /// Whether an event of this source and canonical type goes through this route.
    public func matches(sourceID: String, type: String) -> Bool {
        if let from, !from.contains(sourceID) { return false }
        if let types, !types.contains(where: { Glob.matches($0, type) }) { return false }
        return true
    }

    /// `from -> types -> to`, with `*` for "all".
    public var description: String {
        let sources = from?.joined(separator: ", ") ?? "*"
        let kinds = types?.joined(separator: ", ") ?? "*"
        return "\(sources) -> \(kinds)" + (filter.map { " where \($0)" } ?? "") + " -> \(to.joined(separator: ", "))"
            + (advancingOnly ? " (advancing only)" : "")
    }
}
