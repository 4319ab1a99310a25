import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import RelayDispatch
import RelayCore
import RelayStore
import ServiceLifecycle

/// Assembles and runs the edge: store, ingest and admin listeners, background services, reload on SIGHUP.
public struct RelayRuntime {
    public var configPath: String
    public var logger: Logger

    public init(configPath: String, logger: Logger) {
        self.configPath = configPath
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT; pending work stays on disk.
    public func run(config initial: RelayConfig) async throws {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(HelpedMetricsFactory(factory))

        let opened = try OpenedStore(initial.store, logger: logger)
        let store = opened.store
        let config = LiveConfig(initial)

        let client = Forwarder.makeClient(maxConcurrency: initial.destinations.map(\.concurrency).max() ?? 8)
        let dispatcher = Dispatcher(config: config, store: store, client: client, logger: logger)
        let maxConnections = ListenerSettings.ingestMaxConnections(configured: initial.maxConnections, logger: logger)
        let ingest = Application(
            router: Routers.ingest(config: config, store: store, onJobsCreated: { dispatcher.wake() }),
            server: ListenerSettings.ingestServer(initial, live: config),
            configuration: ListenerSettings.ingestConfiguration(initial, maxConnections: maxConnections),
            logger: logger)
        let admin = Application(
            router: Routers.admin(config: config, store: store, registry: registry, onReplay: { dispatcher.wake() }),
            server: ListenerSettings.adminServer(),
            configuration: ListenerSettings.adminConfiguration(initial),
            logger: logger)
        let reload = ConfigReloader(path: configPath, config: config, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                // The store starts first and stops last: every other service uses it.
                services: (opened.postgres.map { [.init(service: $0)] } ?? []) + [
                    .init(service: MaintenanceService(store: store, logger: logger)),
                    .init(service: reload),
                    .init(service: HTTPClientService(client: client)),
                    .init(service: dispatcher),
                    .init(service: admin),
                    .init(service: ingest),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.info("relay starting", metadata: [
            "listen": .string(initial.listen.description), "admin.listen": .string(initial.adminListen.description),
            "store": .string(initial.store.description),
        ])
        do {
            // Every task the services start (a connection, a worker, an attempt) inherits the preference.
            try await withTaskExecutorPreference(EventLoopTaskExecutor.shared) { try await group.run() }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        logger.info("relay stopped")
    }
}
