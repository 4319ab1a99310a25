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
                            for try await notification in notifications { wake(notification.payload) }
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
            let pause = Duration.milliseconds(min(5_000, 250 * max(1, failures)))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }
}
