import Logging
import RelayCore
import RelayStore
import ServiceLifecycle
import Synchronization
import Tracing

/// Forwards stored jobs to their destinations: one worker per destination, outcomes group-committed,
/// woken by ingest commits, with a slow poll for retries and for jobs made due by other processes.
public final class Dispatcher: Service, Sendable {
    let config: LiveConfig
    let store: any Store
    let forwarder: Forwarder
    let logger: Logger
    /// How long attempts under way may run on after a graceful shutdown begins; the rest stays pending on disk.
    let shutdownGrace: Duration
    let outcomes: OutcomeRecorder
    /// Taken before each housekeeping pass, so one instance of several does it.
    let turn: HousekeepingTurn
    /// The workers running now, by destination: `wake()` is called from outside the dispatcher's task tree (ingest,
    /// replays), so the doorbells are shared here; the tasks themselves are children of `run()`.
    let workers = Mutex<[String: DestinationWorker]>([:])
    /// Rung when the set of workers may have to change before the next reconcile tick (shutdown).
    let reconcileBell = Doorbell()
    private let metrics = DeliveryMetrics()
    /// The pauses in force, read from the store every `pauseRefresh` and set at once by this instance's own pause and
    /// resume (SPEC section 12).
    public let pauses = PauseBoard()
    static let pauseRefresh: Duration = .milliseconds(250)
    /// How often an instance says it is alive when no pause changes.
    static let ackInterval: Duration = .seconds(2)

    /// Runs around each attempt: a CLIENT span per attempt when tracing is on (``TracedAttempt``), else nothing.
    let hook: any AttemptHook

    /// `tracer` set: each attempt is a span in the trace stored with its event, sent on as `traceparent`.
    public init(config: LiveConfig, store: any Store, client: RelayHTTPClient, logger: Logger, shutdownGrace: Duration = .seconds(10), turn: HousekeepingTurn? = nil,
                tracer: (any Tracer)? = nil) {
        self.hook = tracer.map { TracedAttempt(tracer: $0) } ?? PlainAttempt()
        self.turn = turn ?? HousekeepingTurn(store: store)
        self.config = config
        self.store = store
        self.forwarder = Forwarder(client: client)
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        self.outcomes = OutcomeRecorder(store: store, logger: logger)
    }

    /// Starts attempt 1 of newly stored jobs now rather than at the next poll: of `destination`'s, or of every one's.
    public func wake(_ destination: String? = nil) {
        let woken = workers.withLock { workers in destination.map { workers[$0].map { [$0] } ?? [] } ?? Array(workers.values) }
        for worker in woken { worker.doorbell.ring() }
    }

    /// Workers running now (one per configured destination, plus one still finishing for a destination just removed).
    var workerCount: Int { workers.withLock { $0.count } }

    /// Delivers until a graceful shutdown or cancellation. Everything runs in this task's tree: the outcome writer,
    /// housekeeping and one child per destination's worker, so they keep the caller's task executor preference and
    /// the service group sees them end.
    ///
    /// Nothing is requeued at start: jobs a stopped instance left in flight are claimed again once their lease
    /// lapses, and jobs another live instance holds are left to it.
    public func run() async throws {
        let outcomes = self.outcomes
        // The pauses in force before any worker starts: a pause set a moment before this instance came up holds too.
        if let list = try? await store.pauses(nowMilliseconds: Timestamp.nowMilliseconds()) {
            var board: [String: DestinationPauseState] = [:]
            for pause in list { board[pause.destination] = DestinationPauseState(sinceMilliseconds: pause.sinceMilliseconds, untilMilliseconds: pause.untilMilliseconds) }
            pauses.replace(board)
        }
        await withTaskGroup(of: Void.self) { group in
            // Outside the workers' group: attempts cancelled at the end of the grace period still hand over their
            // outcomes, and the writer commits all of them before `run()` returns.
            group.addTask { await outcomes.run { self.wake() } }
            await withTaskGroup(of: Void.self) { services in
                services.addTask { await self.superviseWorkers() }
                services.addTask { await self.housekeeping() }
                services.addTask { await self.watchPauses() }
                // Other instances' new jobs and replays (PostgreSQL); nil: some may have been missed, look at all.
                services.addTask { await self.store.watchJobs { destination in self.wake(destination) } }
            }
            outcomes.close()
        }
    }

    /// Job gauges every few seconds; pruning of delivered jobs and finished events every half minute.
    ///
    /// Counting reads every job's entry in its state's index and every dedup key (about 0.1 s with 1,000,000 pending
    /// jobs; the events are not counted here), so the gauges wait at least 20 times as long as the last count took:
    /// their cost stays under 5 % of a core however large the backlog.
    private func housekeeping() async {
        var lastPrune: ContinuousClock.Instant?
        var pause = Self.statsInterval
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Held for three passes: a holder that stops renewing (stopped, dead) hands over within that.
            if await turn.take(for: max(Self.turnHold, pause * 3)) {
                let started = ContinuousClock.now
                await publishStats()
                let counting = ContinuousClock.now - started
                if lastPrune.map({ ContinuousClock.now - $0 >= Self.pruneInterval }) ?? true {
                    lastPrune = .now
                    await prune()
                }
                pause = max(Self.statsInterval, counting * 20)
            }
            let wait = pause
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        }
    }

    /// Reads the store's pauses every `pauseRefresh` (another instance or the CLI may have set or ended one) and
    /// wakes the workers of destinations whose pause changed.
    ///
    /// Then it acknowledges the version it read (`pause_acks`), so a pause command knows this instance starts no new
    /// attempt for a paused destination: the version is read before the pauses, so the pauses it acknowledges include
    /// every one up to it, and a worker looks at the board again just before each attempt. The acknowledgement is also
    /// the instance's sign of life, written at least every `ackInterval`.
    private func watchPauses() async {
        var failing = false
        var acknowledged: (version: Int64, at: ContinuousClock.Instant)?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let now = Timestamp.nowMilliseconds()
                let version = try await store.pauseVersion()
                let list = try await store.pauses(nowMilliseconds: now)
                var board: [String: DestinationPauseState] = [:]
                for pause in list { board[pause.destination] = DestinationPauseState(sinceMilliseconds: pause.sinceMilliseconds, untilMilliseconds: pause.untilMilliseconds) }
                for destination in pauses.replace(board) { wake(destination) }
                if acknowledged.map({ $0.version != version || .now - $0.at >= Self.ackInterval }) ?? true {
                    try await store.acknowledgePauses(instance: turn.holder, version: version, nowMilliseconds: now)
                    acknowledged = (version, .now)
                }
                failing = false
            } catch {
                // The board keeps what it last read: a pause holds while the store cannot say it ended.
                if !failing { logger.warning("reading destination pauses failed; keeping the last ones read", metadata: ["error": .string(error.message)]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.pauseRefresh) }
        }
        // Stopping: this instance starts no attempt any more, so it obeys every pause to come. Without this a pause
        // in the next seconds waited for it as for a live instance that does not answer.
        try? await store.acknowledgePauses(instance: turn.holder, version: .max, nowMilliseconds: Timestamp.nowMilliseconds())
    }

    /// Pauses `destination` (until `untilMilliseconds`, or until resumed) on every instance: in the store, and at once
    /// on this one.
    public func pause(_ destination: String, untilMilliseconds: Int64?) async throws(StoreError) {
        let now = Timestamp.nowMilliseconds()
        try await store.pause(destination: destination, untilMilliseconds: untilMilliseconds, nowMilliseconds: now)
        let since = (try? await store.pauses(nowMilliseconds: now))?.first { $0.destination == destination }?.sinceMilliseconds ?? now
        pauses.set(destination, DestinationPauseState(sinceMilliseconds: since, untilMilliseconds: untilMilliseconds))
        logger.notice("destination paused", metadata: [
            "destination.id": .string(destination), "until": .string(untilMilliseconds.map { Timestamp.format(epochMilliseconds: $0) } ?? "resumed"),
        ])
        wake(destination)
    }

    /// Ends `destination`'s pause everywhere; returns whether it was paused.
    public func resume(_ destination: String) async throws(StoreError) -> Bool {
        let was = try await store.resume(destination: destination, nowMilliseconds: Timestamp.nowMilliseconds())
        pauses.set(destination, nil)
        logger.notice("destination resumed", metadata: ["destination.id": .string(destination)])
        wake(destination)
        return was
    }

    /// Each running destination's attempts per second over the last minute and last failure, on this instance.
    public func destinationActivity() -> [String: DestinationActivity] {
        let now = Timestamp.nowMilliseconds()
        return workers.withLock { workers in workers.mapValues { $0.activity.snapshot(nowMilliseconds: now) } }
    }

    /// The job counts housekeeping took last (every few seconds, on the instance holding the turn), and when: the
    /// console shows these rather than count a large store on every page.
    public var lastStats: (stats: StoreStats, atMilliseconds: Int64)? { statsCache.withLock { $0 } }
    let statsCache = Mutex<(stats: StoreStats, atMilliseconds: Int64)?>(nil)

    /// Each running destination's state (paused, or its circuit's) and since when.
    public func destinationStates() -> [String: DestinationState] {
        let now = Timestamp.nowMilliseconds()
        return workers.withLock { workers in workers.mapValues { $0.state(nowMilliseconds: now) } }
    }

    static let statsInterval: Duration = .seconds(5)
    static let turnHold: Duration = .seconds(15)
    static let pruneInterval: Duration = .seconds(30)

    func publishStats() async {
        let now = Timestamp.nowMilliseconds()
        guard let stats = try? await store.stats(nowMilliseconds: now, countingEvents: false) else { return }
        statsCache.withLock { $0 = (stats, now) }
        // The console's backlog chart: the minute's last sample, from the counts just taken (the turn holder's only).
        // `pending` counts held jobs too (waiting behind their subject's head, SPEC section 14): they are backlog.
        var backlog: [String: Int] = [:]
        for d in stats.destinations { backlog[d.destination] = d.pending + d.inFlight }
        for d in config.current.destinations where backlog[d.id] == nil { backlog[d.id] = 0 }
        try? await store.sampleBacklog(backlog, nowMilliseconds: now)
        var seen = Set<String>()
        for d in stats.destinations {
            seen.insert(d.destination)
            metrics.jobs(destination: d.destination, pending: d.pending, held: d.held, inFlight: d.inFlight, dead: d.dead, oldestPendingSeconds: d.oldestPendingSeconds ?? 0)
        }
        for d in config.current.destinations where !seen.contains(d.id) {
            metrics.jobs(destination: d.id, pending: 0, inFlight: 0, dead: 0, oldestPendingSeconds: 0)
        }
        metrics.dedupKeys(stats.dedupKeys)
    }

    /// Delivered jobs are kept five minutes (for `stats`), then removed with their events and attempts, in bounded
    /// batches; minute figures are kept 48 hours.
    func prune() async {
        let now = Timestamp.nowMilliseconds()
        _ = try? await store.pruneMinuteCounts(beforeMinute: MinuteCount.minute(of: now - MinuteCount.keptMilliseconds))
        let cutoff = now - 5 * 60_000
        for _ in 0..<20 {
            guard let removed = try? await store.prune(finishedBeforeMilliseconds: cutoff, limit: 20_000), removed > 0, !Task.isShuttingDownGracefully else { return }
        }
    }
}
