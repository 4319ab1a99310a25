/// A write that waits for the next group commit (each store applies a group its own way).
enum WriteOperation: Sendable {
    case ingest(IngestRequest)
    case claim(destination: String, nowMilliseconds: Int64, limit: Int, lease: JobClaimLease)
    case complete([JobOutcome], nowMilliseconds: Int64)
    case expect(ExpectationRequest)

    /// How much of a group's budget it takes.
    var weight: Int {
        switch self {
        case .ingest(let request): return max(1, request.events.count)
        case .claim: return 1
        case .complete(let outcomes, _): return max(1, outcomes.count / 4)
        case .expect(let request): return max(1, request.expectations.count / 4)
        }
    }

    /// Whether its commit must be fsync'd before it returns.
    var needsFsync: Bool {
        switch self {
        case .ingest, .expect: return true
        case .claim, .complete: return false
        }
    }
}

/// What a grouped write returns.
enum WriteResult: Sendable {
    case ingested([IngestOutcome])
    case claimed([DeliveryJob])
    /// How many outcomes the fence refused (their claim was no longer the job's latest).
    case completed(fenced: Int)
    case expected(ExpectationResult)
}

/// The lease a claim puts on the jobs it takes: a fresh token, and when it lapses.
struct JobClaimLease: Sendable {
    var token: Int64
    var untilMilliseconds: Int64

    init(nowMilliseconds: Int64, leaseMilliseconds: Int64) {
        token = JobClaim.newLease()
        untilMilliseconds = nowMilliseconds + max(1, leaseMilliseconds)
    }
}
