import PostgresNIO
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

/// The connection a deadline-bound body leased, once it has one: `withDeadline`'s lease deadline looks at whether it
/// is set, and a missed deadline closes it.
final class LeaseFlag: Sendable {
    private let connection = Mutex<PostgresConnection?>(nil)
    private let value = Atomic<Bool>(false)
    func set(_ leased: PostgresConnection? = nil) {
        connection.withLock { $0 = leased }
        value.store(true, ordering: .releasing)
    }
    var isSet: Bool { value.load(ordering: .acquiring) }

    /// Closes the leased connection, if any: a query waiting on a socket that went silent fails now, and the pool gets
    /// its connection back (closed, so it opens a new one) instead of losing it to a task that waits for an answer
    /// that may never come. Before, 6 of 8 pooled connections stayed held after one 20 s silent partition, all 8
    /// after a second, and relay answered 503 until restarted.
    func closeConnection() {
        guard let leased = connection.withLock({ $0 }) else { return }
        leased.close().whenComplete { _ in }
    }
}

/// Runs `body`, throwing `StoreError.unavailable` if it takes longer than `limit`, or if `leased` is not set within
/// `leaseDeadline`; `body` is then cancelled.
///
/// The caller goes on at the deadline whether or not `body` heeds the cancellation. That is why `body` runs in a task of
/// its own rather than as a child: a query on a connection the server dropped without the client noticing was seen
/// to wait on after PostgreSQL came back, and as a child it held the group-commit writer, and so every ingest and claim,
/// with it. Such a task can only keep its connection; the pool opens others.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ context: String, leaseDeadline: Duration, leased: LeaseFlag, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = FirstOutcome<T>()
    let work = Task { outcome.settle(await Result(catching: body)) }
    let watchdog = Task {
        try await Task.sleep(for: leaseDeadline)
        if leased.isSet { try await Task.sleep(for: limit - leaseDeadline) }
        let cause = leased.isSet ? "no answer within \(limit)" : "no connection within \(leaseDeadline)"
        if outcome.settle(.failure(StoreError(.unavailable, context, cause: cause))) {
            work.cancel()
            leased.closeConnection()
        }
    }
    defer { watchdog.cancel() }
    return try await withTaskCancellationHandler {
        try await outcome.value()
    } onCancel: {
        if outcome.settle(.failure(CancellationError())) { work.cancel() }
    }
}

/// The first of several results to arrive, for one waiter.
final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }

    private let state = Mutex(State())

    /// Records `result` unless one came first; returns whether it was the first.
    @discardableResult
    func settle(_ result: Result<T, any Error>) -> Bool {
        let (first, waiter) = state.withLock { s -> (Bool, CheckedContinuation<T, any Error>?) in
            guard s.result == nil else { return (false, nil) }
            s.result = result
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        waiter?.resume(with: result)
        return first
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let settled = state.withLock { s -> Result<T, any Error>? in
                if s.result == nil { s.waiter = continuation }
                return s.result
            }
            if let settled { continuation.resume(with: settled) }
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
