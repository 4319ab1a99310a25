import RelayCore

/// One figure of one minute (SPEC section 17): what the console's charts draw. Rows are written by the group commits
/// and outcome batches that count them, added into the minute's row, and kept 48 hours.
public struct MinuteCount: Sendable, Equatable {
    /// What is counted: `destination:<id>` or `source:<id>`.
    public var subject: String
    /// `delivered`, `failed`, `pending` (a sample, not a sum), `accepted`, `duplicates`, or `status:<status>` (the net
    /// number of messages that reached that status, minus those that left it).
    public var measure: String
    /// Minutes since the Unix epoch.
    public var minute: Int64
    public var value: Int64

    public init(subject: String, measure: String, minute: Int64, value: Int64) {
        self.subject = subject
        self.measure = measure
        self.minute = minute
        self.value = value
    }

    /// The minute a time (milliseconds since the epoch) falls in.
    public static func minute(of milliseconds: Int64) -> Int64 { milliseconds >= 0 ? milliseconds / 60_000 : (milliseconds - 59_999) / 60_000 }

    /// How long minute rows are kept.
    public static let keptMilliseconds: Int64 = 48 * 3_600_000

    /// The measure a sample replaces instead of adding to (the pending backlog).
    public static let sampled = "pending"

    /// The prefix of the ledger's measures; the stores' SQL spells it as a literal (`'status:*'`, `'status:%'`), so
    /// that their partial index on these rows serves the day's sums.
    public static let ledgerPrefix = "status:"

    /// The statuses of the ledger's share (SPEC section 17), in the order a chart draws them.
    public static let ledgerStatuses = ["queued", "sent", "delivered", "read", "undelivered", "overdue"]

    /// A canonical status as the ledger's share groups it; nil for one it leaves out (`unknown`).
    static func shareStatus(_ status: String) -> String? {
        switch status {
        case "queued", "sent", "read", "undelivered", "overdue": return status
        case "delivered", "delivered_to_operator", "delivered_to_recipient": return "delivered"
        case "failed", "rejected": return "undelivered"
        default: return nil
        }
    }
}

/// The figures one group commit adds, summed per (subject, measure, minute): one row written per key however many
/// requests or outcomes the group holds.
struct MinuteTally: Sendable {
    struct Key: Hashable, Sendable {
        var subject: String
        var measure: String
        var minute: Int64
    }

    private(set) var values: [Key: Int64] = [:]

    var isEmpty: Bool { values.isEmpty }

    mutating func add(_ subject: String, _ measure: String, at milliseconds: Int64, _ value: Int64 = 1) {
        guard value != 0 else { return }
        values[Key(subject: subject, measure: measure, minute: MinuteCount.minute(of: milliseconds)), default: 0] += value
    }

    /// Accepted and duplicate events of one request, and for its status events the ledger's flow: a message that
    /// advances leaves its previous status for the new one; a `delivery.overdue` marks it overdue (it keeps its status).
    mutating func add(_ request: IngestRequest, _ outcomes: [IngestOutcome]) {
        let subject = "source:" + request.sourceID
        let at = request.receivedAtMilliseconds
        var accepted: Int64 = 0
        for (item, outcome) in zip(request.events, outcomes) {
            guard outcome.isNew else { continue }
            accepted += 1
            guard let report = item.event.status, let progress = outcome.progress else { continue }
            if report.kind == .overdue {
                add(subject, MinuteCount.ledgerPrefix + "overdue", at: at)
            } else if progress.advanced, let status = MinuteCount.shareStatus(report.status) {
                add(subject, MinuteCount.ledgerPrefix + status, at: at)
                if let previous = progress.previous.flatMap(MinuteCount.shareStatus) { add(subject, MinuteCount.ledgerPrefix + previous, at: at, -1) }
            }
        }
        add(subject, "accepted", at: at, accepted)
        add(subject, "duplicates", at: at, Int64(outcomes.count) - accepted)
    }

    /// Attempts made: delivered or failed, in the minute each finished. Outcomes that were no attempt (a shutdown's,
    /// an unconfigured destination's) carry no ``AttemptRecord`` and count nothing.
    mutating func add(_ outcomes: [JobOutcome]) {
        for outcome in outcomes {
            guard let attempt = outcome.attempt else { continue }
            add("destination:" + attempt.destination, outcome.state == .delivered ? "delivered" : "failed",
                at: attempt.startedAtMilliseconds + attempt.durationMilliseconds)
        }
    }

    /// The figures of a group's operations and their results.
    init(_ operations: [WriteOperation], _ results: [WriteResult]) {
        for (operation, result) in zip(operations, results) {
            switch (operation, result) {
            case (.ingest(let request), .ingested(let outcomes)): add(request, outcomes)
            case (.complete(let outcomes, _), .completed): add(outcomes)
            default: break
            }
        }
    }

    init() {}

    /// The rows, in key order (the order both stores lock them in).
    var rows: [MinuteCount] {
        values.map { MinuteCount(subject: $0.key.subject, measure: $0.key.measure, minute: $0.key.minute, value: $0.value) }
            .sorted { ($0.minute, $0.subject, $0.measure) < ($1.minute, $1.subject, $1.measure) }
    }
}

/// One attempt to deliver a job (SPEC section 17), written with its outcome and kept as long as the job.
public struct AttemptRecord: Sendable, Equatable {
    public var destination: String
    /// When the request was sent, milliseconds since the epoch.
    public var startedAtMilliseconds: Int64
    public var durationMilliseconds: Int64

    public init(destination: String, startedAtMilliseconds: Int64, durationMilliseconds: Int64) {
        self.destination = destination
        self.startedAtMilliseconds = startedAtMilliseconds
        self.durationMilliseconds = max(0, durationMilliseconds)
    }
}

/// An attempt as the store keeps it (`GET /admin/events/...`, the console's event page).
public struct StoredAttempt: Sendable, Equatable {
    public var startedAtMilliseconds: Int64
    public var durationMilliseconds: Int64
    public var status: Int?
    public var error: String?
    /// The start of the response (at most 1 KiB of the backend's bytes), kept for failed attempts.
    public var response: String?
    /// `delivered`, `pending` (a retry follows) or `dead`.
    public var outcome: String

    public init(startedAtMilliseconds: Int64, durationMilliseconds: Int64, status: Int?, error: String?, response: String?, outcome: String) {
        self.startedAtMilliseconds = startedAtMilliseconds
        self.durationMilliseconds = durationMilliseconds
        self.status = status
        self.error = error
        self.response = response
        self.outcome = outcome
    }
}
