import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The store's connection pool, which relay can replace by a new one while it runs.
///
/// PostgresNIO's pool backs off between failed connection attempts, up to a minute: after a long outage the first
/// request was answered 12.3 s after PostgreSQL came back (18 s after a 300 s outage), however often relay probed.
/// When a direct connection gets through while the pool still cannot, the store renews the pool: the new one connects
/// at once, and the old one is shut down (a connection it still holds is one the outage broke).
final class RenewablePool: Service, Sendable {
    private let configuration: PostgresClient.Configuration
    private let logger: Logger
    private let clients: Mutex<PostgresClient>
    private let renewals: AsyncStream<PostgresClient>
    private let renew: AsyncStream<PostgresClient>.Continuation
    /// Open once the first pool's `run()` is being called: nothing may lease from it before (PostgresNIO warns).
    let started = Readiness()

    init(configuration: PostgresClient.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        clients = Mutex(PostgresClient(configuration: configuration, backgroundLogger: logger))
        (renewals, renew) = AsyncStream.makeStream()
    }

    /// The pool in use now.
    var current: PostgresClient { clients.withLock { $0 } }

    /// Replaces the pool: new leases come from a new one, and the old one is shut down.
    func renewNow() {
        let fresh = PostgresClient(configuration: configuration, backgroundLogger: logger)
        renew.yield(fresh)
    }

    /// Runs the pools until graceful shutdown or cancellation (when each is shut down).
    func run() async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                // The first pool runs as a plain child, so it is running before the writer's first lease (a pool
                // leased before `run()` logs a warning). Once replaced it idles, without connections, until relay stops.
                let first = self.current
                let started = self.started
                group.addTask {
                    started.open()
                    await first.run()  // sets its "running" flag before its first suspension
                }
                var stopOld: AsyncStream<Void>.Continuation?
                for await fresh in self.renewals {
                    let stopFresh = Self.run(fresh, in: &group)
                    self.clients.withLock { $0 = fresh }
                    stopOld?.finish()  // its run() returns once its task is cancelled, closing its connections
                    stopOld = stopFresh
                }
                group.cancelAll()
            }
        }
        started.close()
    }

    /// Starts `client` in `group`; finishing the returned continuation stops it.
    private static func run(_ client: PostgresClient, in group: inout TaskGroup<Void>) -> AsyncStream<Void>.Continuation {
        let (stopped, stop) = AsyncStream<Void>.makeStream()
        group.addTask {
            await withTaskGroup(of: Void.self) { running in
                running.addTask { await client.run() }
                for await _ in stopped {}
                running.cancelAll()
            }
        }
        return stop
    }
}
