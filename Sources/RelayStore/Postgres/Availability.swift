import Synchronization

/// Whether PostgreSQL answers, as the last write or probe found it.
///
/// While it does not, a write fails at once (the request gets its 503 now) instead of queueing behind a pool that
/// waits up to a minute for a connection, and a probe looks again a few times a second, so relay resumes by itself
/// within a moment of the database's return.
final class Availability: Sendable {
    private let down = Mutex<String?>(nil)

    /// The reason PostgreSQL was last found unreachable, or nil while it answers.
    var outage: String? { down.withLock { $0 } }

    /// Records how an operation ended: an unreachable database (connection refused or lost, the server stopping, a
    /// deadline passed) marks it down; a success marks it up. Other failures (a constraint, a deadlock) say nothing
    /// about reachability. Returns whether this changed the state, so the caller logs each change once.
    @discardableResult
    func record(_ error: StoreError?) -> Bool {
        down.withLock { state in
            let before = state == nil
            if let error {
                guard error.kind == .unavailable else { return false }
                state = error.message
            } else {
                state = nil
            }
            return before != (state == nil)
        }
    }
}

/// Runs `body`, throwing `StoreError.unavailable` if it takes longer than `limit` (and cancelling it).
func withDeadline<T: Sendable>(_ limit: Duration, _ context: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw StoreError(.unavailable, context, cause: "no answer within \(limit)")
        }
        return value
    }
}
