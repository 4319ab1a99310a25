import Foundation
import Logging
import RelayCore
import RelayStore
import ServiceLifecycle
import Synchronization

/// Delivers one destination's jobs with at most `concurrency` attempts in flight; other destinations have
/// their own workers, so a slow or dead one never delays them.
final class DestinationWorker: Sendable {
    let id: String
    let doorbell = Doorbell()
    private let config: LiveConfig
    private let store: any Store
    private let forwarder: Forwarder
    private let outcomes: OutcomeRecorder
    private let logger: Logger
    private let metrics: AttemptMetrics
    /// This instance's circuit for the destination, and the pauses every instance obeys (SPEC section 12).
    let circuit = Circuit()
    private let pauses: PauseBoard
    private let rateGate = RateGate()
    private let stateGauge: DestinationStateGauge
    /// Attempts per second and the last failure, for the console.
    let activity = RecentActivity()
    /// The slow poll: picks up jobs made due by retries, replays or another process.
    static let pollInterval: Duration = .seconds(1)
    /// Jobs claimed ahead of free slots (at least; `concurrency` × `batch` when larger): at 10,000 attempts/s, 100 cover
    /// 10 ms.
    static let minimumReserve = 100
    /// The most jobs one claim takes (one commit's worth), however large `concurrency` times `batch` is.
    static let maximumClaim = 2_000

    init(id: String, config: LiveConfig, store: any Store, forwarder: Forwarder, outcomes: OutcomeRecorder, pauses: PauseBoard, logger: Logger) {
        self.metrics = AttemptMetrics(destination: id)
        self.pauses = pauses
        self.stateGauge = DestinationStateGauge(destination: id)
        self.id = id
        self.config = config
        self.store = store
        self.forwarder = forwarder
        self.outcomes = outcomes
        var logger = logger
        logger[metadataKey: "destination.id"] = .string(id)
        self.logger = logger
    }

    /// What a child of the worker's task group finished.
    private enum Finished: Sendable {
        case attempt(jobs: Int)
        case claimed([DeliveryJob], asked: Int)
        case released
        case woken
        case rateSlot
    }

    /// The destination's state now: paused (the store's word, for every instance), else this instance's circuit.
    func state(nowMilliseconds now: Int64 = Timestamp.nowMilliseconds()) -> DestinationState {
        if let pause = pauses.pause(of: id, nowMilliseconds: now) {
            return DestinationState(state: "paused", sinceMilliseconds: pause.sinceMilliseconds, untilMilliseconds: pause.untilMilliseconds)
        }
        let (state, since) = circuit.snapshot
        return DestinationState(state: state.rawValue, sinceMilliseconds: since, untilMilliseconds: nil)
    }

    /// Runs until a graceful shutdown, cancellation or the removal of its destination, then lets the attempts under
    /// way finish (cancellation cancels them).
    ///
    /// The loop keeps `concurrency` attempts running and, behind them, a reserve of jobs already
    /// claimed, so a slot that frees up starts its next attempt at once instead of waiting for a claim's commit.
    /// Claims run beside the attempts; a slot is held for the HTTP exchange only (see `OutcomeRecorder`).
    /// With `batch` set, a free slot takes up to `batch` of the jobs in hand as one request: batches fill only
    /// while every slot is busy, so a quiet destination still gets each event at once, alone.
    func run() async {
        var ready: [DeliveryJob] = []  // claimed, not yet started
        var inFlight = 0  // attempts (requests) under way
        var jobsInFlight = 0
        var claiming = false
        var waiting = false
        var moreDue = true  // a claim may find jobs: at start, after a full claim, after the bell
        var rateTicking = false
        var shownState = ""
        await withTaskGroup(of: Finished.self) { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                guard let destination = config.current.destination(id) else { break }
                let now = Timestamp.nowMilliseconds()
                // What may start now: nothing while paused or open; one probe once the cooldown is over.
                var blockedFor: Duration?
                var startable = Int.max
                var probe = false
                if let pause = pauses.pause(of: id, nowMilliseconds: now) {
                    startable = 0
                    blockedFor = pause.untilMilliseconds.map { .milliseconds(max(1, $0 - now)) }
                } else {
                    switch circuit.gate(settings: destination.breaker) {
                    case .closed: break
                    case .open(let until):
                        startable = 0
                        blockedFor = max(.milliseconds(1), until - .now)
                    case .probing: startable = 0
                    case .probeDue:
                        startable = 1
                        probe = true
                    }
                }
                let current = state(nowMilliseconds: now).state
                if current != shownState {
                    shownState = current
                    stateGauge.record(current)
                }
                if startable == 0 && !ready.isEmpty {
                    // Back to pending, schedules untouched, for when the destination may be attempted again.
                    let claims = ready.map(\.claim)
                    ready.removeAll()
                    group.addTask { await self.release(claims); return .released }
                }
                let concurrency = probe ? 1 : destination.concurrency
                let perAttempt = destination.batch ?? 1
                // Jobs held so long that their claim could lapse before an attempt ends go back unstarted: once it
                // lapses another instance may attempt them, and two attempts at once is what the lease rules out.
                let lapsing = ready.prefix { Self.mayLapse($0, timeout: destination.timeout, lease: config.current.storeLease) }
                if !lapsing.isEmpty {
                    ready.removeFirst(lapsing.count)
                    let claims = lapsing.map(\.claim)
                    group.addTask { await self.release(claims); return .released }
                }
                var started = 0
                var rateWait: Duration?
                while inFlight < concurrency && !ready.isEmpty && started < startable {
                    if let wait = rateGate.take(rate: destination.rate) {
                        rateWait = wait
                        break
                    }
                    if probe {
                        circuit.startProbe()
                        logger.info("circuit probe: one attempt to see whether the destination is back", metadata: ["event.id": .string(PrintableText.cut(ready[0].eventID, maxBytes: ProviderValue.maxBytes))])
                    }
                    started += 1
                    let jobs = Array(ready.prefix(perAttempt))
                    ready.removeFirst(jobs.count)
                    inFlight += 1
                    jobsInFlight += jobs.count
                    group.addTask { await self.attempt(jobs); return .attempt(jobs: jobs.count) }
                }
                let queued = ready.count
                // Claim when the jobs in hand run low: enough for every slot plus a reserve that outlasts a commit.
                let capacity = concurrency * perAttempt
                // Rate-limited, a second's worth is enough in hand; a probe needs one.
                let reserve = probe ? 0 : destination.rate.map { max(1, Int($0.rounded(.up))) } ?? max(capacity, Self.minimumReserve)
                if !claiming && moreDue && startable > 0 && queued <= reserve / 2 {
                    let limit = max(1, min(capacity + reserve - jobsInFlight - queued, Self.maximumClaim, probe ? 1 : Int.max))
                    claiming = true
                    moreDue = false
                    group.addTask { await self.claim(limit: limit) }
                }
                // The bell (an ingest commit, a replay) or the next retry's due time; only one waiter at a time.
                if !claiming && !waiting {
                    waiting = true
                    // Outcomes reach the store a moment after their attempts end, so its next due time may not
                    // know a retry yet; the hint does.
                    var timeout = inFlight > 0 || startable == 0 ? retryHintWait() : min(retryHintWait(), await waitTime())
                    if let blockedFor { timeout = min(timeout, blockedFor) }
                    group.addTask { await self.doorbell.wait(timeout: timeout); return .woken }
                }
                if let rateWait, !rateTicking {
                    rateTicking = true
                    group.addTask { try? await Task.sleep(for: rateWait); return .rateSlot }
                }
                switch await group.next() {
                case .attempt(let jobs):
                    inFlight -= 1
                    jobsInFlight -= jobs
                case .claimed(let jobs, let asked):
                    claiming = false
                    ready.append(contentsOf: jobs)
                    if jobs.count == asked { moreDue = true }
                case .released:
                    moreDue = true
                case .woken:
                    waiting = false
                    moreDue = true
                case .rateSlot:
                    rateTicking = false
                case nil: break
                }
            }
            // Claimed jobs that never started go back to pending now (for this or another instance), not when their
            // claim lapses.
            await release(ready.map(\.claim))
            doorbell.ring()  // ends a waiter
            await group.waitForAll()
        }
    }

    /// Whether `job`'s claim could lapse before an attempt started now ends (its timeout, and a quarter of the lease
    /// for recording the outcome).
    /// Judged on the monotonic clock (`leaseEnd`): the lease itself is the store's, and this host's wall clock may be
    /// minutes off it.
    static func mayLapse(_ job: DeliveryJob, timeout: Duration, lease: Duration, now: ContinuousClock.Instant = .now) -> Bool {
        now + timeout + lease / 4 > job.leaseEnd
    }

    private func release(_ claims: [JobClaim]) async {
        guard !claims.isEmpty else { return }
        do {
            try await store.release(claims, nowMilliseconds: Timestamp.nowMilliseconds())
        } catch {
            logger.error("releasing claimed jobs failed; they are sent when their claim lapses", metadata: ["error": .string(error.message)])
        }
    }

    private func claim(limit: Int) async -> Finished {
        // Outcomes of this instance's attempts still wait for the store: they go first (see `OutcomeRecorder.isFailing`).
        if outcomes.isFailing { return .claimed([], asked: limit) }
        do {
            // Held for the attempt's timeout plus `store.lease`: long enough to finish and record it, short enough
            // that another instance takes over soon after this one dies.
            let leaseMilliseconds = (config.current.destination(id)?.timeout ?? DestinationConfig.defaultTimeout).milliseconds
                + config.current.storeLease.milliseconds
            let jobs = try await store.claimDue(destination: id, nowMilliseconds: Timestamp.nowMilliseconds(), limit: limit, leaseMilliseconds: leaseMilliseconds)
            return .claimed(jobs, asked: limit)
        } catch {
            logger.error("claiming jobs failed", metadata: ["error": .string(error.message)])
            return .claimed([], asked: limit)
        }
    }

    /// The destination's URL parsed once, not per attempt (a reload that changes it is noticed).
    private let parsedURL = Mutex<(text: String, url: URL)?>(nil)

    private func url(of destination: DestinationConfig) -> URL? {
        if let cached = parsedURL.withLock({ $0 }), cached.text == destination.url { return cached.url }
        guard let url = URL(string: destination.url) else { return nil }
        parsedURL.withLock { $0 = (destination.url, url) }
        return url
    }

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
                : OutboundRequest.makeBatch(for: jobs, to: destination, nowSeconds: now / 1000)
            if let url = url(of: destination) {
                result = await forwarder.send(request, to: destination, url: url, nowMilliseconds: now)
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

