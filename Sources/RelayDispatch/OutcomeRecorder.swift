import Logging
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
    private struct State {
        var queued: [JobOutcome] = []
        var writer: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let state = Mutex(State())
    private let store: any Store
    private let logger: Logger

    init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues `outcome` for the next write; never waits.
    func record(_ outcome: JobOutcome) {
        let writer = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.queued.append(outcome)
            defer { s.writer = nil }
            return s.writer
        }
        writer?.resume()
    }

    /// Outcomes queued and not yet committed.
    var backlog: Int { state.withLock { $0.queued.count } }

    /// Ends the writer once everything queued so far is written (or, for a store that stays broken, given up).
    func close() {
        let writer = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.writer = nil }
            return s.writer
        }
        writer?.resume()
    }

    /// Writes until closed and drained. `retriesScheduled` is called after a commit that scheduled retries, so idle
    /// workers look at their next due time again.
    func run(retriesScheduled: @Sendable () -> Void) async {
        var failures = 0
        while true {
            let batch = await next()
            guard let batch else { return }
            do {
                try await store.complete(batch, nowMilliseconds: Timestamp.nowMilliseconds())
                failures = 0
                if batch.contains(where: { $0.state == .pending }) { retriesScheduled() }
            } catch {
                failures += 1
                let closing = state.withLock { s in
                    s.queued.insert(contentsOf: batch, at: 0)
                    return s.closed
                }
                logger.error("recording attempts failed", metadata: [
                    "error": .string(error.message), "count": .stringConvertible(batch.count), "try": .stringConvertible(failures),
                ])
                if closing && failures >= 5 {
                    logger.error("recording attempts failed for good; those jobs are sent again after a restart", metadata: ["count": .stringConvertible(backlog)])
                    return
                }
                try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
            }
        }
    }

    /// Everything queued, waiting for something if nothing is; nil once closed and empty.
    private func next() async -> [JobOutcome]? {
        while true {
            enum Step { case batch([JobOutcome]), done, wait }
            let step = state.withLock { s -> Step in
                if !s.queued.isEmpty {
                    defer { s.queued.removeAll(keepingCapacity: true) }
                    return .batch(s.queued)
                }
                return s.closed ? .done : .wait
            }
            switch step {
            case .batch(let batch): return batch
            case .done: return nil
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { s -> Bool in
                        if !s.queued.isEmpty || s.closed { return true }
                        s.writer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }
}
