import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

extension PostgresStore {
    /// Listens on `jobsChannel` on a connection of its own: every instance's commits that store jobs, replay dead
    /// letters or release unstarted claims announce the destination (`pg_notify` in the same transaction, delivered
    /// on commit), and `wake` gets its id. After each (re)connect `wake(nil)` covers what was announced meanwhile.
    /// Returns on cancellation or graceful shutdown.
    public func watchJobs(_ wake: @escaping @Sendable (String?) -> Void) async {
        guard await migrated.wait() else { return }
        let listening = Mutex(false)  // set once a LISTEN took, so a later failure is logged again
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { [client, logger] in
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.jobsChannel) { notifications in
                            listening.withLock { $0 = true }
                            wake(nil)
                            // A LISTEN on a socket gone silent would wait for notices forever: a ping with a deadline
                            // beside it closes such a connection, and the loop listens again on a new one.
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask { for try await notification in notifications { wake(notification.payload) } }
                                group.addTask { try await Self.pingUntilSilent(connection, logger: logger) }
                                try await group.next()
                                group.cancelAll()
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                if listening.withLock({ $0 }) { failures = 0 }
                listening.withLock { $0 = false }
                failures += 1
                if failures == 1 {
                    logger.warning("listening for new jobs failed; the one-second poll finds them until it works again", metadata: [
                        "error": .string(StoreError("cannot listen", postgres: error).message),
                    ])
                }
            }
            let pause = Duration.milliseconds(min(2_000, 250 * max(1, failures)))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    /// How often the listening connection is pinged, and how long a ping may take.
    static let listenPing: (every: Duration, within: Duration) = (.seconds(5), .seconds(3))

    /// Pings `connection` until a ping takes longer than `listenPing.within`: then closes it and throws.
    static func pingUntilSilent(_ connection: PostgresConnection, logger: Logger) async throws {
        while true {
            try await Task.sleep(for: listenPing.every)
            let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: listenPing.within)
                    try? await connection.close()  // the query then fails at once, rather than wait for a cancellation
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !answered {
                throw StoreError(.unavailable, "cannot listen", cause: "no answer to a ping within \(listenPing.within)")
            }
        }
    }
}
