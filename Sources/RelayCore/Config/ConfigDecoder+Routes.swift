import Yams

/// Decoding of the `routes` section and the checks that tie sources, destinations and routes together.
extension ConfigDecoder {
    /// Decodes `routes`; absent or empty is fine (events are then stored but not forwarded).
    mutating func decodeRoutes(_ node: Node?, line: Int?) -> [RouteConfig] {
        guard let node else { return [] }
        guard let items = sequence(node, path: "routes", example: "[{ from: [line], to: [crm] }]") else { return [] }
        var routes: [RouteConfig] = []
        for (index, item) in items.enumerated() {
            if let route = decodeRoute(item, path: "routes[\(index)]") { routes.append(route) }
        }
        return routes
    }

    private mutating func decodeRoute(_ node: Node, path: String) -> RouteConfig? {
        guard let route = fields(node, path: path, line: node.mark?.line, allowed: ["from", "types", "where", "to", "advancing_only"]) else {
            return nil
        }
        var from: [String]?
        if let node = route.value("from"),
           let list = stringList(node, path: route.path("from"), example: "[line, eightxeight]") {
            from = references(list, path: route.path("from"), known: sourceIDs, kind: "source")
        }
        var types: [String]?
        if let node = route.value("types"),
           let list = stringList(node, path: route.path("types"), example: "[\"delivery.*\"]") {
            types = list.map(\.0)
        }
        var filter: EventFilter?
        if let node = route.value("where") {
            filter = decodeFilter(node, path: route.path("where"))
        }
        let advancingOnly = route.value("advancing_only").flatMap { bool($0, path: route.path("advancing_only")) } ?? false
        guard let node = route.value("to") else {
            error(route.path("to"), route.line, "missing to (the destination ids to deliver to, e.g. to: [crm])")
            return nil
        }
        guard let list = stringList(node, path: route.path("to"), example: "[crm]") else { return nil }
        let known = destinationLines.map(\.id)
        guard let to = references(list, path: route.path("to"), known: known, kind: "destination") else { return nil }
        return RouteConfig(from: from, types: types, to: to, advancingOnly: advancingOnly, filter: filter)
    }

    /// Checks each id against the defined ones; reports every unknown id, returns nil if any was unknown.
    private mutating func references(_ list: [(String, Node)], path: String, known: [String], kind: String) -> [String]? {
        var ok = true
        for (index, (id, item)) in list.enumerated() where !known.contains(id) {
            ok = false
            let hint = known.isEmpty ? "no \(kind)s are defined" : "known: \(known.joined(separator: ", "))"
            error("\(path)[\(index)]", item.mark?.line, "unknown \(kind) \(Self.quoted(id)) (\(hint))")
        }
        return ok ? list.map(\.0) : nil
    }

    /// Cross-section rules: passthrough destinations must be able to send each provider's events in its own format
    /// (e.g. re-sign them), and destinations no route uses are probably mistakes.
    mutating func checkRouting(_ config: RelayConfig) {
        for provider in ProviderRegistry.providers {
            let sources = config.sources.filter { $0.provider.kind == provider.kind }.map(\.id)
            var reported = Set<String>()
            for (index, route) in config.routes.enumerated() {
                guard let source = sources.first(where: { route.from?.contains($0) ?? true }) else { continue }
                for id in route.to where !reported.contains(id) {
                    guard let destination = config.destination(id), destination.format == .passthrough,
                          let requirement = provider.passthroughRequirement(destination) else { continue }
                    reported.insert(id)
                    error("destinations.\(id)", line(ofDestination: id),
                          "passthrough destination receives \(provider.displayName) events (source \"\(source)\" via routes[\(index)]) "
                          + "and needs \(requirement)")
                }
            }
        }
        let used = Set(config.routes.flatMap(\.to))
        for (id, line) in destinationLines where !used.contains(id) {
            warn("destinations.\(id)", line, "no route sends events here")
        }
        if config.routes.isEmpty {
            warn("routes", nil, "no routes: events are stored but not forwarded")
        }
    }

    private func line(ofDestination id: String) -> Int? {
        destinationLines.first { $0.id == id }?.line ?? nil
    }
}
