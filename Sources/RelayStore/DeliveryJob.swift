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
    /// The event's subject when the destination orders by it (SPEC section 14): the next job of the subject waits,
    /// held, until this one is delivered or dead. Nil for a job that is not ordered.
    public var subject: String?
    /// The claim this job is held under: its outcome counts only while the claim is the job's latest.
    public var lease: Int64
    /// When the claim lapses and any instance may claim the job again (milliseconds since the epoch, by the store's
    /// clock: PostgreSQL's on the shared store).
    public var leaseUntilMilliseconds: Int64
    /// The same on this process's monotonic clock, counted from before the claim was sent (so never late): what the
    /// worker checks before it starts an attempt, whatever this host's wall clock says.
    public var leaseEnd: ContinuousClock.Instant = .now
    /// The trace of the request that stored the job's event (SPEC section 15): each attempt's span joins it.
    public var traceContext: StoredTraceContext?

    public init(
        id: Int64, destination: String, attempts: Int, eventID: String, sourceID: String, provider: ProviderKind, type: String,
        canonical: [UInt8], passthrough: [UInt8]?, subject: String? = nil, lease: Int64 = 0, leaseUntilMilliseconds: Int64 = 0,
        traceContext: StoredTraceContext? = nil
    ) {
        self.id = id
        self.traceContext = traceContext
        self.subject = subject
        self.lease = lease
        self.leaseUntilMilliseconds = leaseUntilMilliseconds
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

extension DeliveryJob {
    /// The job and the lease it was claimed under, for its outcome or its release.
    public var claim: JobClaim { JobClaim(jobID: id, lease: lease, subject: subject.map { SubjectKey(destination: destination, subject: $0) }) }
}

extension [DeliveryJob] {
    /// The jobs with `leaseEnd` set (a claim's jobs share one).
    func withLeaseEnd(_ end: ContinuousClock.Instant) -> [DeliveryJob] {
        map { job in
            var job = job
            job.leaseEnd = end
            return job
        }
    }
}

/// A job as one claim holds it. A claim's lease token is new each time the job is claimed, so a write under an older
/// claim (an instance that was presumed dead, answering late) matches nothing: the fence.
public struct JobClaim: Sendable, Hashable {
    public var jobID: Int64
    public var lease: Int64
    /// The ordered subject the job heads, if any: its end (delivered or dead) lets the subject's next job go.
    public var subject: SubjectKey?

    public init(jobID: Int64, lease: Int64, subject: SubjectKey? = nil) {
        self.jobID = jobID
        self.lease = lease
        self.subject = subject
    }

    /// A fresh lease token: random, so instances need nothing shared to draw one (one in 2^63 repeats a token).
    static func newLease() -> Int64 { Int64.random(in: 1...Int64.max) }
}

/// One subject of one ordered destination: its jobs are attempted one at a time, in the order their events were
/// stored (SPEC section 14). The store keeps one row per key with unfinished jobs (`subject_heads`), counting them.
public struct SubjectKey: Sendable, Hashable, Comparable {
    public var destination: String
    public var subject: String

    public init(destination: String, subject: String) {
        self.destination = destination
        self.subject = subject
    }

    public static func < (a: Self, b: Self) -> Bool { (a.destination, a.subject) < (b.destination, b.subject) }
}

/// What came of one attempt.
public struct JobOutcome: Sendable {
    /// Whether recording it ends its job's turn at the head of an ordered subject (delivered or a dead letter).
    public var endsTurn: Bool { claim.subject != nil && state != .pending }

    public enum State: String, Sendable {
        case delivered, pending, dead
    }

    /// The job and the claim it was attempted under; the outcome is recorded only while that claim holds.
    public var claim: JobClaim
    public var jobID: Int64 { claim.jobID }
    public var state: State
    /// Attempts made, this one included.
    public var attempts: Int
    /// When to try again (pending only).
    public var nextAttemptAtMilliseconds: Int64
    public var status: Int?
    /// Why the attempt failed; text a store can hold (control characters escaped), at most ``maxErrorBytes``.
    public var error: String?
    /// The start of a failed attempt's response, as ``PrintableText`` keeps it; at most ``maxResponseBytes``.
    public var response: String?
    /// The attempt this outcome ends, when one was made (nil for a job put back unattempted): stored in the job's
    /// attempt history and counted in its destination's minute.
    public var attempt: AttemptRecord?

    /// The longest error text an outcome keeps, in bytes.
    public static let maxErrorBytes = 1024
    /// The longest response snippet an outcome keeps once escaped (1 KiB of a backend's bytes, each up to 4 escaped).
    public static let maxResponseBytes = 4096

    /// An outcome; `error` and `response` come from outside (a backend, a client library) and are made safe to store
    /// here, so no value they carry can fail the batch they are written in.
    public init(claim: JobClaim, state: State, attempts: Int, nextAttemptAtMilliseconds: Int64 = 0, status: Int? = nil, error: String? = nil, response: String? = nil,
                attempt: AttemptRecord? = nil) {
        self.claim = claim
        self.attempt = attempt
        self.state = state
        self.attempts = attempts
        self.nextAttemptAtMilliseconds = nextAttemptAtMilliseconds
        self.status = status
        self.error = error.map { PrintableText.escaping($0, maxBytes: Self.maxErrorBytes) }
        self.response = response.map { PrintableText.escaping($0, maxBytes: Self.maxResponseBytes) }
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
    /// Jobs waiting for an attempt, those held behind their subject's head included.
    public var pending = 0
    /// Of `pending`, those held behind the head of their subject (ordered destinations).
    public var held = 0
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
