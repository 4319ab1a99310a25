import Hummingbird
import RelayCore
import RelayStore
import Synchronization

/// `/healthz` (the process is up) and `/readyz` (config loaded, store writable).
public struct HealthController: Sendable {
    let probe: ReadinessProbe
    let stopping: StoppingFlag

    public init(store: any Store, stopping: StoppingFlag = StoppingFlag()) {
        probe = ReadinessProbe(store: store)
        self.stopping = stopping
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in AdminJSON.response(HealthStatus.ok) }
        router.get("/readyz") { _, _ in
            if stopping.isStopping { return AdminJSON.response(status: .serviceUnavailable, HealthStatus.stopping) }
            let ready = await probe.isReady()
            return AdminJSON.response(status: ready ? .ok : .serviceUnavailable, ready ? HealthStatus.ready : .storeNotWritable)
        }
    }
}

/// Checks that the store can commit, at most once a second however often a load balancer asks.
final class ReadinessProbe: Sendable {
    let store: any Store
    private let last = Mutex<(at: ContinuousClock.Instant, ready: Bool)?>(nil)

    init(store: any Store) { self.store = store }

    func isReady() async -> Bool {
        let now = ContinuousClock.now
        if let cached = last.withLock({ $0 }), now - cached.at < .seconds(1) { return cached.ready }
        let ready = await store.isWritable()
        last.withLock { $0 = (now, ready) }
        return ready
    }
}
