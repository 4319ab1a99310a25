import Hummingbird
import Logging
import NIOCore
import Prometheus
import RelayCore
import RelayDispatch
import RelayIngest
import RelayStore
import ServiceLifecycle
import Tracing
import UnixSignals

/// relay wired together, the one place that does it (`relay serve` and the tests both build through here): the
/// store, the dispatcher and its HTTP client, the ingest and admin listeners, reload on SIGHUP and housekeeping, as
/// services in the order they start. A `ServiceGroup` stops them in reverse: listeners first, the store last.
public struct RelayApplication: Sendable {
    public let config: LiveConfig
    public let store: any Store
    public let dispatcher: Dispatcher
    public let client: RelayHTTPClient
    /// Start order: store, housekeeping, the overdue scan, reload, HTTP client, dispatcher, console sessions, admin, ingest,
    /// drain.
    public let services: [any Service]

    /// Where a listener got bound (its port is known only then when the config asks for port 0).
    public typealias OnRunning = @Sendable (_ port: Int) async -> Void

    /// Builds every part from `initial`; `configPath` set enables reload on SIGHUP. Metrics go to `registry` (the
    /// caller bootstraps the process's metrics system once, if at all). `tracer` set: webhook requests and delivery
    /// attempts are spans (SPEC section 15); nil: no span is made and no trace context serialized.
    public static func build(
        config initial: RelayConfig, configPath: String?, registry: PrometheusCollectorRegistry, logger: Logger,
        shutdownGrace: Duration = .seconds(10), tracer: (any Tracer)? = nil,
        onIngestRunning: @escaping OnRunning = { _ in }, onAdminRunning: @escaping OnRunning = { _ in }
    ) throws -> RelayApplication {
        let store = try OpenedStore(initial.store, logger: logger).store
        let config = LiveConfig(initial)
        let client = Forwarder.makeClient(maxConcurrency: initial.destinations.map(\.concurrency).max() ?? 8)
        let turn = HousekeepingTurn(store: store)
        let stopping = StoppingFlag()
        let dispatcher = Dispatcher(config: config, store: store, client: client, logger: logger, shutdownGrace: shutdownGrace, turn: turn,
                                    tracer: tracer)
        let maxConnections = ListenerSettings.ingestMaxConnections(configured: initial.maxConnections, logger: logger)
        let budget = BodyBudget()
        let ingest = Application(
            router: Routers.ingest(config: config, store: store, stopping: stopping, tracer: tracer, onJobsCreated: { dispatcher.wake() }),
            server: ListenerSettings.ingestServer(initial, live: config, budget: budget),
            configuration: ListenerSettings.ingestConfiguration(initial, maxConnections: maxConnections),
            onServerRunning: { channel in await onIngestRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        let sessions = ConsoleSessionStore()
        let admin = Application(
            router: Routers.admin(config: config, store: store, registry: registry, stopping: stopping,
                                  controls: DestinationControls(store: store, dispatcher: dispatcher), sessions: sessions, onReplay: { dispatcher.wake() }),
            server: ListenerSettings.adminServer(),
            configuration: ListenerSettings.adminConfiguration(initial),
            onServerRunning: { channel in await onAdminRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        let overdue = OverdueService(intake: Intake(config: config, store: store, onJobsCreated: { dispatcher.wake() }), logger: logger)
        var services: [any Service] = [store, MaintenanceService(store: store, logger: logger, turn: turn), overdue]
        if let configPath { services.append(ConfigReloader(path: configPath, config: config, logger: logger)) }
        // Last, so a graceful shutdown reaches it first: /readyz turns 503 while the listeners still accept.
        services += [HTTPClientService(client: client), dispatcher, sessions, admin, ingest, DrainService(flag: stopping, delay: initial.shutdownDelay)]
        return RelayApplication(config: config, store: store, dispatcher: dispatcher, client: client, services: services)
    }

    /// A group running every service, stopped gracefully by `signals` (or by `triggerGracefulShutdown()`): the store,
    /// then the rest as one inner group whose tasks prefer NIO's event loops (``EventLoopTaskExecutor``). The store's
    /// writer stays off that preference: run on the event loops it took each group commit as soon as one request was
    /// queued, and groups shrank from about 30 requests to 23 (7 on the global executor as a preference), costing
    /// ingest throughput. Stopping is in reverse: the inner group (listeners first), then the store.
    ///
    /// `tracing`, the span exporter, starts first and so stops last: the spans of the last attempts still go out.
    public func serviceGroup(gracefulShutdownSignals signals: [UnixSignal], logger: Logger, tracing: (any Service)? = nil) -> ServiceGroup {
        let rest = ServiceGroup(configuration: .init(services: services.dropFirst().map { .init(service: $0) }, logger: logger))
        let first = tracing.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? []
        return ServiceGroup(configuration: .init(
            services: first + [.init(service: services[0]), .init(service: OnEventLoops(group: rest))],
            gracefulShutdownSignals: signals, logger: logger))
    }

    /// Runs a group with every task it starts (a connection, a worker, an attempt) preferring the event loops.
    struct OnEventLoops: Service {
        let group: ServiceGroup

        func run() async throws {
            try await withTaskExecutorPreference(EventLoopTaskExecutor.shared) { try await group.run() }
        }
    }
}
