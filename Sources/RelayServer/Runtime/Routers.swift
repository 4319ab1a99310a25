import Hummingbird
import Prometheus
import RelayCore
import RelayIngest
import RelayStore
import Tracing

/// The two HTTP surfaces: ingest (public) and admin (loopback, token).
public enum Routers {
    /// `POST /webhooks/<id>`, `/healthz`, `/readyz`.
    /// `tracer` set (tracing on): each webhook request is a span, and so are its steps.
    public static func ingest(config: LiveConfig, store: any Store, stopping: StoppingFlag = StoppingFlag(), tracer: (any Tracer)? = nil,
                              onJobsCreated: @escaping @Sendable () -> Void = {}) -> Router<RelayRequestContext> {
        let router = Router(context: RelayRequestContext.self)
        router.add(middleware: WebhookMethodMiddleware())  // before the routes: they take the middleware present when added
        IngestController(intake: Intake(config: config, store: store, tracer: tracer, onJobsCreated: onJobsCreated), tracer: tracer)
            .addRoutes(to: router)
        HealthController(store: store, stopping: stopping).addRoutes(to: router)
        return router
    }

    /// `/metrics`, `/healthz`, `/readyz`, `/admin/*` behind the token, and the console; only for a `Host` naming the
    /// listener, every answer with the browser safety headers. `sessions` is the console's session store: the caller
    /// runs it as a service (it removes expired sessions).
    public static func admin(config: LiveConfig, store: any Store, registry: PrometheusCollectorRegistry, stopping: StoppingFlag = StoppingFlag(),
                             controls: DestinationControls? = nil, sessions: ConsoleSessionStore = ConsoleSessionStore(),
                             throttle: SignInThrottle = SignInThrottle(), onReplay: @escaping @Sendable () -> Void = {}) -> Router<RelayRequestContext> {
        let router = Router(context: RelayRequestContext.self)
        // Before any route: a router's routes take the middleware present when they are added.
        router.add(middleware: AdminHeadersMiddleware())
        router.add(middleware: AdminHostMiddleware(config: config))
        AdminController(config: config, store: store, controls: controls, throttle: throttle, onReplay: onReplay).addRoutes(to: router)
        ConsoleController(config: config, store: store, controls: controls ?? DestinationControls(store: store), onReplay: onReplay,
                          sessions: sessions, throttle: throttle).addRoutes(to: router)
        MetricsController(registry: registry).addRoutes(to: router)
        HealthController(store: store, stopping: stopping).addRoutes(to: router)
        return router
    }
}
