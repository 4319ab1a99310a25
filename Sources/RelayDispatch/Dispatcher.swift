import AsyncHTTPClient
import Logging
import RelayCore
import RelayStore
import ServiceLifecycle
import Synchronization

/// Forwards stored jobs to their destinations: one worker per destination, outcomes group-committed,
/// woken by ingest commits, with a slow poll for retries and for jobs made due by other processes.
public final class Dispatcher: Service, Sendable {
    let config: LiveConfig
    let store: any Store
    let forwarder: Forwarder
    let logger: Logger
    /// How long attempts under way may run on after a graceful shutdown begins; the rest stays pending on disk.
    let shutdownGrace: Duration
    private let outcomes: OutcomeRecorder
    private let workers = Mutex<[String: (worker: DestinationWorker, task: Task<Void, Never>)]>([:])
    private let stopping = StopFlag()
    private let metrics = DeliveryMetrics()

    public init(config: LiveConfig, store: any Store, client: HTTPClient, logger: Logger, shutdownGrace: Duration = .seconds(10)) {
        self.config = config
        self.store = store
        self.forwarder = Forwarder(client: client)
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        self.outcomes = OutcomeRecorder(store: store, logger: logger)
    }

    /// Starts attempt 1 of newly stored jobs now rather than at the next poll.
    public func wake() {
        for entry in workers.withLock({ Array($0.values) }) { entry.worker.doorbell.ring() }
    }

    public func run() async throws {
        do {
            let requeued = try await store.requeueInFlight(nowMilliseconds: Timestamp.nowMilliseconds())
            if requeued > 0 { logger.notice("requeued jobs left in flight", metadata: ["count": .stringConvertible(requeued)]) }
        } catch {
            logger.error("requeueing in-flight jobs failed", metadata: ["error": .string(error.message)])
        }
        let outcomes = self.outcomes
        let writer = Task(executorPreference: EventLoopTaskExecutor.shared) { await outcomes.run { self.wake() } }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.supervise() }
                group.addTask { await self.housekeeping() }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.stopping.set()
            self.wake()
        }
        outcomes.close()
        await writer.value
    }

    /// Keeps one worker per configured destination (reloads add and remove them), until stopping.
    private func supervise() async {
        while !stopping.isSet {
            reconcile()
            // Woken by the shutdown, so stopping does not wait out the rest of the second.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        let tasks = workers.withLock { $0.values.map(\.task) }
        // Attempts under way get `shutdownGrace` to finish; then they are cancelled and stay pending on disk.
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { for task in tasks { await task.value }; return true }
            group.addTask { try? await Task.sleep(for: self.shutdownGrace); return false }
            if await group.next() == false {
                logger.warning("attempts still under way at the end of the shutdown grace period were cancelled")
                for task in tasks { task.cancel() }
            }
            group.cancelAll()
        }
        for task in tasks { await task.value }
    }

    func reconcile() {
        let wanted = Set(config.current.destinations.map(\.id))
        workers.withLock { running in
            for (id, entry) in running where !wanted.contains(id) {
                entry.worker.doorbell.ring()
                running[id] = nil
            }
            for id in wanted where running[id] == nil || running[id]!.task.isCancelled {
                let worker = DestinationWorker(
                    id: id, config: config, store: store, forwarder: forwarder, outcomes: outcomes, stopping: stopping, logger: logger)
                // Unstructured tasks inherit no executor preference: given here, the worker and its attempts keep it.
                running[id] = (worker, Task(executorPreference: EventLoopTaskExecutor.shared) { await worker.run() })
            }
        }
    }

    /// Job gauges every few seconds; pruning of delivered jobs and finished events every half minute.
    ///
    /// Counting reads every job's entry in its state's index and every dedup key (about 0.1 s with 1,000,000 pending
    /// jobs; the events are not counted here), so the gauges wait at least 20 times as long as the last count took:
    /// their cost stays under 5 % of a core however large the backlog.
    private func housekeeping() async {
        var lastPrune: ContinuousClock.Instant?
        while !stopping.isSet {
            let started = ContinuousClock.now
            await publishStats()
            let counting = ContinuousClock.now - started
            if lastPrune.map({ ContinuousClock.now - $0 >= Self.pruneInterval }) ?? true {
                lastPrune = .now
                await prune()
            }
            let pause = max(Self.statsInterval, counting * 20)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    static let statsInterval: Duration = .seconds(5)
    static let pruneInterval: Duration = .seconds(30)

    func publishStats() async {
        guard let stats = try? await store.stats(nowMilliseconds: Timestamp.nowMilliseconds(), countingEvents: false) else { return }
        var seen = Set<String>()
        for d in stats.destinations {
            seen.insert(d.destination)
            metrics.jobs(destination: d.destination, pending: d.pending, inFlight: d.inFlight, dead: d.dead, oldestPendingSeconds: d.oldestPendingSeconds ?? 0)
        }
        for d in config.current.destinations where !seen.contains(d.id) {
            metrics.jobs(destination: d.id, pending: 0, inFlight: 0, dead: 0, oldestPendingSeconds: 0)
        }
        metrics.dedupKeys(stats.dedupKeys)
    }

    /// Delivered jobs are kept five minutes (for `stats`), then removed with their events, in bounded batches.
    func prune() async {
        let cutoff = Timestamp.nowMilliseconds() - 5 * 60_000
        for _ in 0..<20 {
            guard let removed = try? await store.prune(finishedBeforeMilliseconds: cutoff, limit: 20_000), removed > 0, !stopping.isSet else { return }
        }
    }
}
