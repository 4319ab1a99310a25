import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import RelayDispatch
import RelayCore
import RelayStore
import ServiceLifecycle
import Tracing

/// `relay serve`: bootstraps the process (metrics, and tracing when `OTEL_*` variables ask for it), builds the ``RelayApplication`` and runs it until SIGTERM or SIGINT.
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

        var tracing: (tracer: any Tracer, service: any Service)?
        if TracingSetup.isRequested(ProcessInfo.processInfo.environment) { tracing = try TracingSetup.bootstrap(logger: logger) }

        let application = try RelayApplication.build(config: initial, configPath: configPath, registry: registry, logger: logger,
                                                     tracer: tracing?.tracer)
        let group = application.serviceGroup(gracefulShutdownSignals: [.sigterm, .sigint], logger: logger, tracing: tracing?.service)
        logger.info("relay starting", metadata: [
            "listen": .string(initial.listen.description), "admin.listen": .string(initial.adminListen.description),
            "store": .string(initial.store.description), "tracing": .string(tracing == nil ? "off" : "on"),
        ])
        try await group.run()
        logger.info("relay stopped")
    }
}
