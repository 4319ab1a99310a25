import Synchronization

/// Wakes one waiting worker: rung by ingest commits and finished attempts, with a timeout as the slow poll.
/// A ring while nobody waits is remembered, so a wake-up is never lost.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        var waiterID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung, after `timeout`, or on cancellation.
    public func wait(timeout: Duration) async {
        if state.withLock({ s in defer { s.rung = false }; return s.rung }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        let id = state.withLock { s in s.waiterID += 1; return s.waiterID }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { s -> Bool in
                    if s.rung || Task.isCancelled {
                        s.rung = false
                        return true
                    }
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                guard s.waiterID == id, let w = s.waiter else { return nil }
                s.waiter = nil
                return w
            }
            waiter?.resume()
        }
    }
}
