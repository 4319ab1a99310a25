import Foundation
import Logging
import RelayCore
import RelayStore

/// One attempt of a destination's worker: build, sign, send (through the hook), classify, and hand the outcome over.
extension DestinationWorker {
    /// One attempt: build, sign, send, classify, record; one request for all of `jobs` (a batch) or for the one job.
    func attempt(_ jobs: [DeliveryJob]) async {
        let config = self.config.current
        guard let destination = config.destination(id) else {
            // Removed by a reload while in flight: leave them pending for when it comes back.
            let later = Timestamp.nowMilliseconds() + 60_000
            for job in jobs {
                finish(job, JobOutcome(claim: job.claim, state: .pending, attempts: job.attempts, nextAttemptAtMilliseconds: later, error: "destination not configured"))
            }
            return
        }
        if pauses.pause(of: id, nowMilliseconds: Timestamp.nowMilliseconds()) != nil {
            // Paused after these were handed to the attempt: not started, back to pending with their schedules untouched
            // (a pause command answers once every instance obeys it, so no attempt may start past this point).
            circuit.abandonProbe()
            await release(jobs.map(\.claim))
            return
        }
        if destination.batch == nil && jobs.count > 1 {
            // A reload turned batching off after these were grouped: one request each, as now configured.
            for job in jobs { await attempt([job]) }
            return
        }
        let started = ContinuousClock.now
        let now = Timestamp.nowMilliseconds()
        let result: Forwarder.Result
        do {
            let request = destination.batch == nil
                ? try OutboundRequest.make(for: jobs[0], to: destination, nowSeconds: now / 1000)
                : try OutboundRequest.makeBatch(for: jobs, to: destination, nowSeconds: now / 1000)
            if let url = url(of: destination) {
                let forwarder = self.forwarder
                result = await hook.attempt(jobs, to: destination, request: request) { request in
                    await forwarder.send(request, to: destination, url: url, nowMilliseconds: now)
                }
            } else {
                result = Forwarder.Result(error: .requestNotBuilt("invalid URL"))  // the config loader rejects these; a reload cannot bring one
            }
        } catch {
            // The event's own fault, not the destination's: a probe that could not be sent tells nothing, so the
            // circuit probes again with the next job rather than stay half-open with nothing in flight.
            circuit.abandonProbe()
            let attempt = AttemptRecord(destination: id, startedAtMilliseconds: now, durationMilliseconds: 0)
            for job in jobs {
                finish(job, JobOutcome(claim: job.claim, state: .dead, attempts: job.attempts + 1, error: error.description, attempt: attempt))
            }
            return
        }
        if result.error == .cancelled {
            // Cut off by relay's own shutdown: not an attempt of the job's schedule. Back to pending, due now, its
            // count unchanged, so a job on its last attempt does not become a dead letter for a restart.
            circuit.abandonProbe()
            for job in jobs {
                finish(job, JobOutcome(claim: job.claim, state: .pending, attempts: job.attempts, nextAttemptAtMilliseconds: Timestamp.nowMilliseconds(),
                                       error: result.error?.description))
            }
            return
        }
        let duration = ContinuousClock.now - started
        metrics.record(requestDuration: duration)
        let attempt = AttemptRecord(destination: id, startedAtMilliseconds: now, durationMilliseconds: duration.milliseconds)
        let policy = RetryPolicy(schedule: config.retrySchedule(for: id), jitter: config.retryJitter)
        // One clock reading for the whole batch: retries due a millisecond apart would be claimed, and sent, apart.
        let finished = Timestamp.nowMilliseconds()
        activity.attempted(nowMilliseconds: finished, error: result.succeeded ? nil : (result.error?.description ?? result.status.map { "HTTP \($0)" }))
        let reading = Circuit.reading(result)
        if let transition = circuit.record(reading, settings: destination.breaker, nowMilliseconds: finished) {
            report(transition, result: result, settings: destination.breaker)
            doorbell.ring()  // the loop looks at the gate again
        }
        for job in jobs {
            var outcome = Self.outcome(for: job, attempts: job.attempts + 1, result: result, policy: policy, nowMilliseconds: finished)
            if destination.breaker != nil, reading == .unhealthy, let held = Self.held(job, outcome, circuit: circuit, policy: policy, nowMilliseconds: finished) {
                outcome = held
            }
            outcome.attempt = attempt
            finish(job, outcome)
        }
    }

    /// A failure that speaks of the destination's health, not the event's, costs the job nothing while the
    /// destination is down: with the circuit open the attempt is not counted and the job is due again at once (it
    /// waits for the circuit, its schedule untouched), and while other attempts fail too it never becomes a dead
    /// letter (it waits its last delay and is tried again). Nil when the outcome stands: an isolated failure on a
    /// destination that is otherwise answering still follows the schedule to a dead letter.
    static func held(_ job: DeliveryJob, _ outcome: JobOutcome, circuit: Circuit, policy: RetryPolicy, nowMilliseconds now: Int64) -> JobOutcome? {
        if circuit.state != .closed {
            return JobOutcome(claim: job.claim, state: .pending, attempts: job.attempts, nextAttemptAtMilliseconds: now,
                              status: outcome.status, error: outcome.error, response: outcome.response)
        }
        guard outcome.state == .dead, circuit.streak >= 2 else { return nil }
        let wait = policy.schedule.last ?? .seconds(1)
        return JobOutcome(claim: job.claim, state: .pending, attempts: job.attempts, nextAttemptAtMilliseconds: now + wait.milliseconds,
                          status: outcome.status, error: outcome.error, response: outcome.response)
    }

    /// One log line per change of the circuit.
    private func report(_ transition: Circuit.Transition, result: Forwarder.Result, settings: BreakerSettings?) {
        let error = result.error?.description ?? result.status.map { "HTTP \($0)" } ?? ""
        switch transition {
        case .opened(let cooldown):
            logger.warning("circuit open: the destination is failing; no attempts until a probe succeeds", metadata: [
                "failures": .stringConvertible(settings?.failures ?? 0), "cooldown": .string(DurationText.format(cooldown)), "error": .string(error),
            ])
        case .reopened(let cooldown):
            logger.warning("circuit probe failed; open again", metadata: ["cooldown": .string(DurationText.format(cooldown)), "error": .string(error)])
        case .closed:
            logger.notice("circuit closed: the probe succeeded; delivering the backlog")
        }
    }

    /// Counts, logs and hands over one job's outcome.
    private func finish(_ job: DeliveryJob, _ outcome: JobOutcome) {
        metrics.record(outcome.state)
        if outcome.state == .pending {
            let at = outcome.nextAttemptAtMilliseconds
            retryHint.withLock { $0 = min($0 ?? at, at) }
            doorbell.ring()  // a waiter sleeping past this retry's due time takes the new hint
        }
        // Built only when a line will be written: a delivery at the default level logs nothing.
        func metadata() -> Logger.Metadata {
            [
                "event.id": .string(PrintableText.cut(job.eventID, maxBytes: ProviderValue.maxBytes)), "source.id": .string(job.sourceID), "attempt": .stringConvertible(outcome.attempts),
                "status": .string(outcome.status.map(String.init) ?? "-"), "error": .string(outcome.error ?? ""),
            ]
        }
        switch outcome.state {
        case .delivered: if logger.logLevel <= .debug { logger.debug("delivered", metadata: metadata()) }
        case .pending: logger.info("attempt failed, will retry", metadata: metadata())
        case .dead: logger.warning("dead letter", metadata: metadata())
        }
        outcomes.record(outcome)
    }

    static func outcome(
        for job: DeliveryJob, attempts: Int, result: Forwarder.Result, policy: RetryPolicy, nowMilliseconds: Int64 = Timestamp.nowMilliseconds()
    ) -> JobOutcome {
        if result.succeeded { return JobOutcome(claim: job.claim, state: .delivered, attempts: attempts, status: result.status) }
        if let delay = policy.delay(afterAttempts: attempts, retryAfter: result.retryAfter) {
            return JobOutcome(
                claim: job.claim, state: .pending, attempts: attempts, nextAttemptAtMilliseconds: nowMilliseconds + delay.milliseconds,
                status: result.status, error: result.error?.description, response: result.responseSnippet)
        }
        return JobOutcome(claim: job.claim, state: .dead, attempts: attempts, status: result.status, error: result.error?.description, response: result.responseSnippet)
    }
}
