import Synchronization

/// A one-way gate: tasks wait until it opens (ready) or closes (never will be), and any number may wait.
final class Readiness: Sendable {
    private enum Stage { case waiting, ready, closed }
    private struct State {
        var stage = Stage.waiting
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private let state = Mutex(State())

    /// Lets every waiter through, now and from now on.
    func open() { settle(.ready) }

    /// Answers every waiter, now and from now on, with false (unless already open).
    func close() { settle(.closed) }

    private func settle(_ stage: Stage) {
        let (waiters, ready) = state.withLock { s -> ([CheckedContinuation<Bool, Never>], Bool) in
            if s.stage == .waiting { s.stage = stage }
            defer { s.waiters = [] }
            return (s.waiters, s.stage == .ready)
        }
        for waiter in waiters { waiter.resume(returning: ready) }
    }

    /// Whether the gate is open now, without waiting.
    var isOpen: Bool { state.withLock { $0.stage == .ready } }

    /// Whether the gate opened, waiting while it is neither open nor closed.
    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let answer = state.withLock { s -> Bool? in
                switch s.stage {
                case .ready: return true
                case .closed: return false
                case .waiting:
                    s.waiters.append(continuation)
                    return nil
                }
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }
}
