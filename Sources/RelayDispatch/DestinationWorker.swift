import Logging
import RelayCore
import RelayStore

/// Delivers one destination's jobs with at most `concurrency` attempts in flight; other destinations have
/// their own workers, so a slow or dead one never delays them.
final class DestinationWorker: Sendable {
    let id: String
    let doorbell = Doorbell()
    private let config: LiveConfig
    private let store: any Store
    private let forwarder: Forwarder
    private let outcomes: GroupCommitter<JobOutcome, Void>
    private let logger: Logger
    private let metrics: AttemptMetrics
    /// The slow poll: picks up jobs made due by retries, replays or another process.
    static let pollInterval: Duration = .seconds(1)

    private let stopping: StopFlag

    init(id: String, config: LiveConfig, store: any Store, forwarder: Forwarder, outcomes: GroupCommitter<JobOutcome, Void>, stopping: StopFlag, logger: Logger) {
        self.stopping = stopping
        self.metrics = AttemptMetrics(destination: id)
        self.id = id
        self.config = config
        self.store = store
        self.forwarder = forwarder
        self.outcomes = outcomes
        var logger = logger
        logger[metadataKey: "destination.id"] = .string(id)
        self.logger = logger
    }

    /// Runs until stopping (or its destination is removed), then lets the attempts under way finish.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            while !stopping.isSet && !Task.isCancelled {
                guard let destination = config.current.destination(id) else { break }
                let free = destination.concurrency - inFlight
                // Claim in batches (a quarter of the slots at least) rather than one job per finished attempt.
                let batch = inFlight == 0 ? 1 : max(1, destination.concurrency / 4)
                var claimed: [DeliveryJob] = []
                if free >= batch {
                    do {
                        claimed = try await store.claimDue(destination: id, nowMilliseconds: Timestamp.nowMilliseconds(), limit: free)
                    } catch {
                        logger.error("claiming jobs failed", metadata: ["error": .string("\(error)")])
                    }
                }
                for job in claimed {
                    inFlight += 1
                    group.addTask { await self.attempt(job) }
                }
                // Reap finished attempts without blocking, so their slots free up.
                while inFlight > 0, let _ = await nextIfReady(&group) { inFlight -= 1 }
                if claimed.count == free && free >= batch { continue }  // more may be due right now
                if inFlight >= destination.concurrency {
                    if await group.next() != nil {
                        inFlight -= 1
                        _ = completions.take()
                    }
                    continue
                }
                // With attempts under way, their completions ring the bell and the retries they schedule are known
                // here; only an idle worker asks the store for the next due time.
                await doorbell.wait(timeout: inFlight > 0 ? retryHintWait() : await waitTime())
            }
            await group.waitForAll()
        }
    }

    private func nextIfReady(_ group: inout TaskGroup<Void>) async -> Void? {
        // TaskGroup has no non-blocking poll; a finished child rings the doorbell, and `group.next()` then
        // returns at once. Only call next() when a completion is known to be pending.
        guard completions.take() else { return nil }
        return await group.next()
    }

    private let completions = CompletionCounter()

    /// The earliest retry this worker scheduled that may not have been claimed yet.
    private let retryHint = Mutex<Int64?>(nil)

    private func retryHintWait() -> Duration {
        let now = Timestamp.nowMilliseconds()
        let hint = retryHint.withLock { hint -> Int64? in
            defer { if let h = hint, h <= now { hint = nil } }  // due now: the next pass claims it
            return hint
        }
        guard let hint else { return Self.pollInterval }
        return min(.milliseconds(max(1, hint - now)), Self.pollInterval)
    }

    private func waitTime() async -> Duration {
        guard let next = try? await store.nextDue(destination: id) else { return Self.pollInterval }
        let ms = next - Timestamp.nowMilliseconds()
        return ms <= 0 ? .milliseconds(1) : min(.milliseconds(ms), Self.pollInterval)
    }

    /// One attempt: build, sign, send, classify, record.
    func attempt(_ job: DeliveryJob) async {
        defer {
            completions.add()
            doorbell.ring()
        }
        let config = self.config.current
        let attempts = job.attempts + 1
        let started = ContinuousClock.now
        var outcome: JobOutcome
        if let destination = config.destination(id) {
            let now = Timestamp.nowMilliseconds()
            do {
                let request = try OutboundRequest.make(for: job, to: destination, nowSeconds: now / 1000)
                let result = await forwarder.send(request, to: destination, nowMilliseconds: now)
                outcome = Self.outcome(for: job, attempts: attempts, result: result, policy: RetryPolicy(schedule: config.retrySchedule(for: id), jitter: config.retryJitter))
            } catch {
                outcome = JobOutcome(jobID: job.id, state: .dead, attempts: attempts, error: error.description)
            }
        } else {
            // Removed by a reload while in flight: leave it pending for when it comes back.
            outcome = JobOutcome(jobID: job.id, state: .pending, attempts: job.attempts, nextAttemptAtMilliseconds: Timestamp.nowMilliseconds() + 60_000, error: "destination not configured")
        }
        metrics.record(outcome.state, duration: ContinuousClock.now - started)
        if outcome.state == .pending {
            let at = outcome.nextAttemptAtMilliseconds
            retryHint.withLock { $0 = min($0 ?? at, at) }
        }
        // Built only when a line will be written: a delivery at the default level logs nothing.
        func metadata() -> Logger.Metadata {
            [
                "event.id": .string(job.eventID), "source.id": .string(job.sourceID), "attempt": .stringConvertible(attempts),
                "status": .string(outcome.status.map(String.init) ?? "-"), "error": .string(outcome.error ?? ""),
            ]
        }
        switch outcome.state {
        case .delivered: if logger.logLevel <= .debug { logger.debug("delivered", metadata: metadata()) }
        case .pending: logger.info("attempt failed, will retry", metadata: metadata())
        case .dead: logger.warning("dead letter", metadata: metadata())
        }
        // A store that is briefly unwritable (locked, disk full) must not leave the job in flight until a restart.
        for attempt in 1...5 {
            do {
                try await outcomes.submit(outcome, weight: 1)
                return
            } catch {
                logger.error("recording an attempt failed", metadata: metadata().merging(["store.error": .string("\(error)"), "try": .stringConvertible(attempt)]) { $1 })
                if Task.isCancelled { break }
                try? await Task.sleep(for: .seconds(attempt))
            }
        }
        logger.error("recording an attempt failed for good; the job is sent again after a restart", metadata: metadata())
    }

    static func outcome(for job: DeliveryJob, attempts: Int, result: Forwarder.Result, policy: RetryPolicy) -> JobOutcome {
        if result.succeeded { return JobOutcome(jobID: job.id, state: .delivered, attempts: attempts, status: result.status) }
        if let delay = policy.delay(afterAttempts: attempts, retryAfter: result.retryAfter) {
            return JobOutcome(
                jobID: job.id, state: .pending, attempts: attempts, nextAttemptAtMilliseconds: Timestamp.nowMilliseconds() + delay.milliseconds,
                status: result.status, error: result.error, response: result.responseSnippet)
        }
        return JobOutcome(jobID: job.id, state: .dead, attempts: attempts, status: result.status, error: result.error, response: result.responseSnippet)
    }
}

import Synchronization

/// Set once, when the dispatcher begins its graceful shutdown.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Counts finished attempts not yet reaped from the task group.
final class CompletionCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    /// Takes one completion if there is one.
    func take() -> Bool { count.withLock { if $0 > 0 { $0 -= 1; return true } else { return false } } }
}
