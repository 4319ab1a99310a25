import Logging
import Metrics
import RelayCore
import RelayDispatch
import RelayIngest
import RelayStore
import ServiceLifecycle

/// Emits `delivery.overdue` for messages past their deadline (SPEC section 10), off the request path: every
/// `interval` it reads the ledger's deadline index (at most `batch` messages, nothing when none is due) and, when some
/// are, takes the housekeeping turn (one instance of several does it) and stores their events through the intake.
public struct OverdueService: Service {
    let intake: Intake
    let logger: Logger
    let turn: HousekeepingTurn
    let interval: Duration
    let batch: Int

    public init(intake: Intake, logger: Logger, turn: HousekeepingTurn, interval: Duration = .milliseconds(500), batch: Int = 500) {
        self.intake = intake
        self.logger = logger
        self.turn = turn
        self.interval = interval
        self.batch = batch
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            await runOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass: full batches are followed by another at once, until fewer than `batch` were due.
    public func runOnce() async {
        do {
            while !Task.isCancelledOrShuttingDown {
                let now = Timestamp.nowMilliseconds()
                guard try await !intake.store.dueOverdue(nowMilliseconds: now, limit: 1).isEmpty,
                      await turn.take(for: .seconds(15)) else { return }
                let report = try await intake.emitOverdue(nowMilliseconds: now, limit: batch)
                for (source, count) in report.emitted where count > 0 {
                    Counter(label: "relay_overdue_total", dimensions: [("source", source)]).increment(by: count)
                    logger.info("messages overdue", metadata: ["source": .string(source), "count": .stringConvertible(count)])
                }
                if report.total < batch { return }
            }
        } catch {
            logger.warning("overdue scan failed", metadata: ["error": .string(error.message)])
        }
    }
}
