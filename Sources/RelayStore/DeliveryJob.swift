import RelayCore

/// One (event, destination) pair to deliver, with what the forwarder needs to send it.
public struct DeliveryJob: Sendable {
    public var id: Int64
    public var destination: String
    /// Attempts already made before this one.
    public var attempts: Int
    public var eventID: String
    public var sourceID: String
    public var provider: ProviderKind
    public var type: String
    public var canonical: [UInt8]
    /// The provider-format body, when a passthrough destination was routed at ingest.
    public var passthrough: [UInt8]?

    public init(id: Int64, destination: String, attempts: Int, eventID: String, sourceID: String, provider: ProviderKind, type: String, canonical: [UInt8], passthrough: [UInt8]?) {
        self.id = id
        self.destination = destination
        self.attempts = attempts
        self.eventID = eventID
        self.sourceID = sourceID
        self.provider = provider
        self.type = type
        self.canonical = canonical
        self.passthrough = passthrough
    }
}

/// What came of one attempt.
public struct JobOutcome: Sendable {
    public enum State: String, Sendable {
        case delivered, pending, dead
    }

    public var jobID: Int64
    public var state: State
    /// Attempts made, this one included.
    public var attempts: Int
    /// When to try again (pending only).
    public var nextAttemptAtMilliseconds: Int64
    public var status: Int?
    public var error: String?
    public var response: String?

    public init(jobID: Int64, state: State, attempts: Int, nextAttemptAtMilliseconds: Int64 = 0, status: Int? = nil, error: String? = nil, response: String? = nil) {
        self.jobID = jobID
        self.state = state
        self.attempts = attempts
        self.nextAttemptAtMilliseconds = nextAttemptAtMilliseconds
        self.status = status
        self.error = error
        self.response = response
    }
}

/// A job that used up its schedule, as an operator sees it.
public struct DeadLetter: Sendable, Equatable {
    public var id: Int64
    public var destination: String
    public var eventID: String
    public var sourceID: String
    public var type: String
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var lastResponse: String?
    public var receivedAtMilliseconds: Int64
    public var failedAtMilliseconds: Int64
}

/// Job counts for one destination.
public struct DestinationStats: Sendable, Equatable {
    public var destination: String
    public var pending = 0
    public var inFlight = 0
    public var dead = 0
    public var delivered = 0
    /// Age of the oldest pending job, in seconds.
    public var oldestPendingSeconds: Double?

    public init(destination: String) { self.destination = destination }
}

/// The store at a glance.
public struct StoreStats: Sendable, Equatable {
    public var destinations: [DestinationStats]
    public var dedupKeys: Int
    public var events: Int
}
