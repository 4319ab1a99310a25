import Logging
import Metrics
import RelayCore
import RelayIngest
import RelayStore
import ServiceLifecycle

/// Emits `delivery.overdue` for messages past their deadline (SPEC section 10), off the request path: every
/// `interval` it reads the ledger's deadline index (at most `batch` messages, nothing when none is due) and stores
/// their events through the intake.
///
/// It runs on every instance and does not wait for the housekeeping turn: an instance restarted after a kill -9 would
/// wait out the dead one's turn (15 s) first. Exactly once comes from the event's dedup key instead: when two scans
/// find one message, one stores its event and the other's copy is a duplicate that only ends the wait.
public struct OverdueService: Service {
    let intake: Intake
    let logger: Logger
    let interval: Duration
    let batch: Int

    public init(intake: Intake, logger: Logger, interval: Duration = .milliseconds(500), batch: Int = 500) {
        self.intake = intake
        self.logger = logger
        self.interval = interval
        self.batch = batch
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) { await runOnce() }
    }

    /// One pass: full batches are followed by another at once, until fewer than `batch` were due.
    public func runOnce() async {
        do {
            while !Task.isCancelledOrShuttingDown {
                let now = Timestamp.nowMilliseconds()
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
