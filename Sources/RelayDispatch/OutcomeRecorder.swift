import Logging
import Metrics
import RelayCore
import RelayStore
import Synchronization

/// Records finished attempts in the store without holding their slots: an attempt hands its outcome over and
/// its slot takes the next job at once, while one writer commits everything handed over since its last commit.
///
/// Until its outcome is committed a job stays in flight on disk, so a crash in between sends it again (at least
/// once). A store that refuses the write (locked, disk full) is retried with a growing pause; nothing is dropped
/// while relay runs.
final class OutcomeRecorder: Sendable {
    private let queue = BatchQueue<JobOutcome>()
    private let fencedOutcomes = Counter(label: "relay_delivery_fenced_total")
    private let store: any Store
    private let logger: Logger

    init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues `outcome` for the next write; never waits.
    func record(_ outcome: JobOutcome) {
        if !queue.append(outcome) { logger.error("an attempt finished after its outcomes were closed; the job is sent again after a restart") }
    }

    /// Outcomes queued and not yet committed.
    var backlog: Int { queue.count }

    /// Whether the last write failed and outcomes wait for the store. Workers claim nothing meanwhile: a claim that
    /// succeeded first after an outage longer than the lease would take back this instance's own lapsed jobs, whose
    /// outcomes (delivered, most of them) are still queued here, and send them again.
    var isFailing: Bool { failing.load(ordering: .acquiring) }
    private let failing = Atomic<Bool>(false)

    /// Ends the writer once everything queued so far is written (or, for a store that stays broken, given up).
    func close() { queue.close() }

    /// Writes until closed and drained. `retriesScheduled` is called after a commit that scheduled retries, so idle
    /// workers look at their next due time again.
    func run(retriesScheduled: @Sendable () -> Void) async {
        var failures = 0
        while let batch = await queue.next() {
            do {
                let fenced: Int
                do {
                    fenced = try await store.complete(batch, nowMilliseconds: Timestamp.nowMilliseconds())
                } catch where error.mayLieInOneItem && batch.count > 1 {
                    fenced = await completeOneByOne(batch)
                }
                failures = 0
                failing.store(false, ordering: .releasing)
                if fenced > 0 {
                    // Their claim lapsed and another instance claimed them meanwhile: its outcome is the one that counts.
                    fencedOutcomes.increment(by: fenced)
                    logger.warning("outcomes refused: their claim had lapsed and the jobs were claimed again", metadata: ["count": .stringConvertible(fenced)])
                }
                // A retry scheduled, or a subject's next job let go by its head's end: due now or soon.
                if batch.contains(where: { $0.state == .pending || $0.endsTurn }) { retriesScheduled() }
            } catch {
                failures += 1
                failing.store(true, ordering: .releasing)
                queue.putBack(batch)
                logger.error("recording attempts failed", metadata: [
                    "error": .string(error.message), "count": .stringConvertible(batch.count), "try": .stringConvertible(failures),
                ])
                if queue.isClosed && failures >= 5 {
                    logger.error("recording attempts failed for good; those jobs are sent again after a restart", metadata: ["count": .stringConvertible(backlog)])
                    return
                }
                try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
            }
        }
    }

    /// Writes a refused batch's outcomes one at a time, so one the store cannot hold costs only itself: each is
    /// written as it is, or failing that without its texts (the response and the error), and is given up on with a
    /// log line only if even that fails (its job then lapses and is sent again). A failure of the store itself puts
    /// the outcomes not yet written back in the queue. Returns how many the fence refused.
    private func completeOneByOne(_ batch: [JobOutcome]) async -> Int {
        var fenced = 0
        for (position, outcome) in batch.enumerated() {
            var bare = outcome
            bare.response = nil
            bare.error = outcome.error.map { _ in "the attempt's error could not be stored" }
            for attempt in [outcome, bare] {
                do {
                    fenced += try await store.complete([attempt], nowMilliseconds: Timestamp.nowMilliseconds())
                    break
                } catch where error.mayLieInOneItem {
                    let last = attempt.response == bare.response && attempt.error == bare.error
                    logger.error(last ? "an outcome cannot be stored; its job is sent again once its claim lapses"
                                      : "an outcome was refused by the store; writing it without its texts", metadata: [
                        "delivery.job": .stringConvertible(outcome.jobID), "error": .string(error.message),
                    ])
                } catch {
                    queue.putBack(Array(batch[position...]))
                    return fenced
                }
            }
        }
        return fenced
    }
}
