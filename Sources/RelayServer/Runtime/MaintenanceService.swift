import Logging
import RelayCore
import RelayDispatch
import RelayStore
import ServiceLifecycle

/// Background upkeep off the request path: expires dedup keys past `dedup_window` and message ledgers past
/// `message_window`, in bounded batches.
public struct MaintenanceService: Service {
    let store: any Store
    let logger: Logger
    let interval: Duration
    let batch: Int
    /// Only the instance holding the housekeeping turn expires keys (several may share a PostgreSQL store).
    let turn: HousekeepingTurn

    public init(store: any Store, logger: Logger, interval: Duration = .seconds(60), batch: Int = 10_000, turn: HousekeepingTurn? = nil) {
        self.store = store
        self.turn = turn ?? HousekeepingTurn(store: store)
        self.logger = logger
        self.interval = interval
        self.batch = batch
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) { await runOnce() }
    }

    /// One pass: keeps deleting full batches until fewer than `batch` keys were due.
    public func runOnce() async {
        // The dispatcher renews the same turn every few seconds; this only must not take it for long.
        guard await turn.take(for: .seconds(15)) else { return }
        await expire("dedup keys") { [store, batch] () async throws(StoreError) -> Int in
            try await store.expireDedupKeys(nowMilliseconds: Timestamp.nowMilliseconds(), limit: batch)
        }
        await expire("message ledgers") { [store, batch] () async throws(StoreError) -> Int in
            try await store.expireMessages(nowMilliseconds: Timestamp.nowMilliseconds(), limit: batch)
        }
    }

    /// Runs `batchOnce` until it removes fewer than `batch` rows, and says how many went.
    private func expire(_ what: String, _ batchOnce: () async throws(StoreError) -> Int) async {
        do {
            var removed = 0
            while true {
                let n = try await batchOnce()
                removed += n
                if n < batch || Task.isCancelledOrShuttingDown { break }
                await Task.yield()
            }
            if removed > 0 { logger.info("expired \(what)", metadata: ["count": .stringConvertible(removed)]) }
        } catch {
            logger.warning("expiry of \(what) failed", metadata: ["error": .string(error.message)])
        }
    }
}

/// Runs `pass`, then waits `interval`, until cancellation or a graceful shutdown (which also ends the wait).
func repeatUntilShutdown(every interval: Duration, _ pass: () async -> Void) async {
    while !Task.isCancelledOrShuttingDown {
        await pass()
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
