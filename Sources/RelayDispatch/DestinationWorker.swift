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
    let config: LiveConfig
    let store: any Store
    let forwarder: Forwarder
    let outcomes: OutcomeRecorder
    let logger: Logger
    let metrics: AttemptMetrics
    /// This instance's circuit for the destination, and the pauses every instance obeys (SPEC section 12).
    let circuit = Circuit()
    let pauses: PauseBoard
    private let stateGauge: DestinationStateGauge
    /// Attempts per second and the last failure, for the console.
    let activity = RecentActivity()
    /// The slow poll: picks up jobs made due by retries, replays or another process.
    static let pollInterval: Duration = .seconds(1)

    /// Runs around each attempt (see ``AttemptHook``).
    let hook: any AttemptHook

    init(id: String, config: LiveConfig, store: any Store, forwarder: Forwarder, outcomes: OutcomeRecorder, pauses: PauseBoard,
         hook: any AttemptHook = PlainAttempt(), logger: Logger) {
        self.hook = hook
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
        case attempt([DeliveryJob])
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

    /// What the pauses and the circuit let start now (the scheduler's `Admission`).
    private func admission(_ destination: DestinationConfig, nowMilliseconds now: Int64, at instant: ContinuousClock.Instant) -> DeliveryScheduler.Admission {
        if let pause = pauses.pause(of: id, nowMilliseconds: now) {
            return .blocked(for: pause.untilMilliseconds.map { .milliseconds(max(1, $0 - now)) })
        }
        switch circuit.gate(now: instant, settings: destination.breaker) {
        case .closed: return .open
        case .open(let until): return .blocked(for: max(.milliseconds(1), until - instant))
        case .probing: return .blocked(for: nil)
        case .probeDue: return .probeDue
        }
    }

    /// Runs until a graceful shutdown, cancellation or the removal of its destination, then lets the attempts under
    /// way finish (cancellation cancels them). A thin loop around ``DeliveryScheduler``: it reads the clock, the
    /// configuration, the pauses and the circuit, asks the scheduler what to do, and runs each action as a child task
    /// whose end it reports back. A slot is held for the HTTP exchange only (see `OutcomeRecorder`).
    func run() async {
        var scheduler = DeliveryScheduler(ordering: config.current.destination(id)?.ordering ?? .none)
        var shownState = ""
        await withTaskGroup(of: Finished.self) { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let config = self.config.current
                guard let destination = config.destination(id) else { break }
                let now = Timestamp.nowMilliseconds()
                let instant = ContinuousClock.now
                let admission = admission(destination, nowMilliseconds: now, at: instant)
                let current = state(nowMilliseconds: now).state
                if current != shownState {
                    shownState = current
                    stateGauge.record(current)
                }
                let settings = DeliveryScheduler.Settings(
                    concurrency: destination.concurrency, batch: destination.batch, rate: destination.rate, timeout: destination.timeout,
                    lease: config.storeLease, ordering: destination.ordering)
                for action in scheduler.next(now: instant, settings: settings, admission: admission) {
                    switch action {
                    case .release(let claims):
                        group.addTask { await self.release(claims); return .released }
                    case .attempt(let jobs, let probe):
                        if probe {
                            circuit.startProbe()
                            logger.info("circuit probe: one attempt to see whether the destination is back", metadata: ["event.id": .string(PrintableText.cut(jobs[0].eventID, maxBytes: ProviderValue.maxBytes))])
                        }
                        group.addTask { await self.attempt(jobs); return .attempt(jobs) }
                    case .claim(let limit):
                        group.addTask { await self.claim(limit: limit) }
                    case .wait(let blockedFor, let askStore):
                        // Outcomes reach the store a moment after their attempts end, so its next due time may not
                        // know a retry yet; the hint does.
                        var timeout = askStore ? min(retryHintWait(), await waitTime()) : retryHintWait()
                        if let blockedFor { timeout = min(timeout, blockedFor) }
                        group.addTask { await self.doorbell.wait(timeout: timeout); return .woken }
                    case .rateSlotIn(let wait):
                        group.addTask { try? await Task.sleep(for: wait); return .rateSlot }
                    }
                }
                switch await group.next() {
                case .attempt(let jobs): scheduler.attemptEnded(jobs)
                case .claimed(let jobs, let asked): scheduler.claimed(jobs, asked: asked)
                case .released: scheduler.released()
                case .woken: scheduler.woken()
                case .rateSlot: scheduler.rateSlotFreed()
                case nil: break
                }
            }
            // Claimed jobs that never started go back to pending now (for this or another instance), not when their
            // claim lapses.
            await release(scheduler.drain())
            doorbell.ring()  // ends a waiter
            await group.waitForAll()
        }
    }

    func release(_ claims: [JobClaim]) async {
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

    func url(of destination: DestinationConfig) -> URL? {
        if let cached = parsedURL.withLock({ $0 }), cached.text == destination.url { return cached.url }
        guard let url = URL(string: destination.url) else { return nil }
        parsedURL.withLock { $0 = (destination.url, url) }
        return url
    }

    /// The earliest retry this worker scheduled that may not have been claimed yet.
    let retryHint = Mutex<Int64?>(nil)

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
}
