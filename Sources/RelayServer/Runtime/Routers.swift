import Hummingbird
import Prometheus
import RelayCore
import RelayIngest
import RelayStore

/// The two HTTP surfaces: ingest (public) and admin (loopback, token).
public enum Routers {
    /// `POST /webhooks/<id>`, `/healthz`, `/readyz`.
    public static func ingest(config: LiveConfig, store: any Store, stopping: StoppingFlag = StoppingFlag(),
                              onJobsCreated: @escaping @Sendable () -> Void = {}) -> Router<RelayRequestContext> {
        let router = Router(context: RelayRequestContext.self)
        router.add(middleware: WebhookMethodMiddleware())  // before the routes: they take the middleware present when added
        IngestController(intake: Intake(config: config, store: store, onJobsCreated: onJobsCreated)).addRoutes(to: router)
        HealthController(store: store, stopping: stopping).addRoutes(to: router)
        return router
    }

    /// `/metrics`, `/healthz`, `/readyz`, and `/admin/*` behind the token.
    public static func admin(config: LiveConfig, store: any Store, registry: PrometheusCollectorRegistry, stopping: StoppingFlag = StoppingFlag(),
                             controls: DestinationControls? = nil, onReplay: @escaping @Sendable () -> Void = {}) -> Router<RelayRequestContext> {
        let router = Router(context: RelayRequestContext.self)
        AdminController(config: config, store: store, controls: controls, onReplay: onReplay).addRoutes(to: router)
        ConsoleController(config: config, store: store, controls: controls ?? DestinationControls(store: store), onReplay: onReplay).addRoutes(to: router)
        MetricsController(registry: registry).addRoutes(to: router)
        HealthController(store: store, stopping: stopping).addRoutes(to: router)
        return router
    }
}
