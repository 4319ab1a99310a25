import Logging
import ServiceLifecycle

extension Dispatcher {
    /// What a child of the workers' task group finished.
    private enum WorkerEvent: Sendable {
        /// The worker of this destination returned: stopped, or its destination removed and its attempts done.
        case ended(String)
        /// Time to compare the workers with the configuration again.
        case tick
        /// The shutdown grace period is over.
        case graceOver
    }

    /// How often the workers are compared with the configuration: a destination added by a reload gets its worker
    /// within this time.
    static let reconcileInterval: Duration = .seconds(1)

    /// Keeps one worker child per configured destination (reloads add and remove them) until a graceful shutdown
    /// or cancellation; then gives the attempts under way `shutdownGrace` before cancelling them.
    func superviseWorkers() async {
        await withTaskGroup(of: WorkerEvent.self) { group in
            await withGracefulShutdownHandler {
                var ticking = false
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    reconcile(in: &group)
                    if !ticking {
                        ticking = true
                        group.addTask { await self.reconcileBell.wait(timeout: Self.reconcileInterval); return .tick }
                    }
                    switch await group.next() {
                    case .ended(let id): workers.withLock { $0[id] = nil }
                    case .tick: ticking = false
                    case .graceOver, nil: break
                    }
                }
            } onGracefulShutdown: {
                self.reconcileBell.ring()
                self.wake()
            }
            reconcileBell.ring()  // ends the tick child, if it still waits
            await finishWorkers(in: &group)
        }
    }

    /// Starts a worker for each configured destination that has none; rings the workers of removed destinations,
    /// which then see their destination gone and end once their attempts under way are done.
    ///
    /// A worker stays registered until its child returns, so a destination removed and added again gets its new
    /// worker only after the old one has ended: never two workers claiming for one destination.
    private func reconcile(in group: inout TaskGroup<WorkerEvent>) {
        let wanted = Set(config.current.destinations.map(\.id))
        let started = workers.withLock { running -> [DestinationWorker] in
            for (id, worker) in running where !wanted.contains(id) { worker.doorbell.ring() }
            let new = wanted.filter { running[$0] == nil }.map {
                DestinationWorker(id: $0, config: config, store: store, forwarder: forwarder, outcomes: outcomes, pauses: pauses, hook: hook, logger: logger)
            }
            for worker in new { running[worker.id] = worker }
            return new
        }
        for worker in started {
            group.addTask { await worker.run(); return .ended(worker.id) }
        }
    }

    /// After the supervising loop: waits for the workers (their attempts under way) up to `shutdownGrace`, then
    /// cancels them; cancelled attempts stay pending on disk.
    private func finishWorkers(in group: inout TaskGroup<WorkerEvent>) async {
        // Cancelled rather than shut down gracefully: the workers are cancelled already, no grace to give.
        if workerCount > 0 && !Task.isCancelled {
            group.addTask { try? await Task.sleep(for: self.shutdownGrace); return .graceOver }
        }
        while let event = await group.next() {
            switch event {
            case .ended(let id):
                // The last worker ended within the grace period: this cancels only the grace timer.
                if workers.withLock({ $0[id] = nil; return $0.isEmpty }) { group.cancelAll() }
            case .graceOver:
                if workerCount > 0 {
                    logger.warning("attempts still under way at the end of the shutdown grace period were cancelled")
                    group.cancelAll()
                }
            case .tick: break
            }
        }
    }
}
