/// A write that waits for the next group commit (each store applies a group its own way).
enum WriteOperation: Sendable {
    case ingest(IngestRequest)
    case claim(destination: String, nowMilliseconds: Int64, limit: Int)
    case complete([JobOutcome], nowMilliseconds: Int64)

    /// How much of a group's budget it takes.
    var weight: Int {
        switch self {
        case .ingest(let request): return max(1, request.events.count)
        case .claim: return 1
        case .complete(let outcomes, _): return max(1, outcomes.count / 4)
        }
    }

    /// Whether its commit must be fsync'd before it returns.
    var needsFsync: Bool {
        if case .ingest = self { return true }
        return false
    }
}

/// What a grouped write returns.
enum WriteResult: Sendable {
    case ingested([Bool])
    case claimed([DeliveryJob])
    case completed
}
