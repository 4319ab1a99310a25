/// The whole validated `routes.yaml`: listeners, store, limits, sources, destinations and routes.
public struct RelayConfig: Sendable, CustomStringConvertible {
    /// Ingest listener (`POST /webhooks/<id>`).
    public var listen: ListenAddress
    /// Admin listener (`/metrics`, `/healthz`, `/readyz`, `/admin/*`).
    public var adminListen: ListenAddress
    /// Bearer token required on `/admin/*`; nil means no token is required.
    public var adminToken: String?
    /// Host names the admin listener answers besides its own address and `localhost` (`admin.hosts`), lowercased;
    /// any other `Host` header is refused, so a DNS-rebound name cannot reach it from a browser.
    public var adminHosts: [String] = []
    /// Where events and deliveries are kept.
    public var store: StoreConfig
    /// How long a claim holds a job beyond its destination's `timeout`: another instance may attempt it no sooner.
    public var storeLease: Duration = Self.defaultStoreLease
    /// How long relay goes on accepting after SIGTERM while `/readyz` answers 503, for a load balancer to notice.
    public var shutdownDelay: Duration = .zero
    /// Largest accepted request body, in bytes.
    public var maxBody: Int
    /// How long a connection may stay silent while a request is read (the gap between bytes).
    public var readTimeout: Duration
    /// How long receiving one request, head to last body byte, may take in total; then the connection is closed.
    public var bodyTimeout: Duration
    /// Ingest connections held at once; past it new ones wait in the listen backlog.
    public var maxConnections: Int
    /// Bytes of request bodies held in memory at once, over all ingest requests; past it a request gets 503.
    public var maxBuffered: Int
    /// Variables whose `${VAR:-default}` default stands in for a secret (the repository's development secrets);
    /// `relay serve` refuses a non-loopback `listen` while any is listed.
    public var developmentSecrets: [String] = []
    /// How long delivered event ids are remembered to drop provider retries.
    public var dedupWindow: Duration
    /// How long a message's ledger (its status and timeline) is kept after its last event (SPEC section 10).
    public var messageWindow: Duration = Self.defaultMessageWindow
    /// Delays after attempt 1, 2, ...; after the last one the delivery is dead-lettered.
    public var retry: [Duration]
    /// Random spread applied to each retry delay, as a fraction 0...1.
    public var retryJitter: Double
    /// Sources in config order.
    public var sources: [SourceConfig]
    /// Destinations in config order.
    public var destinations: [DestinationConfig]
    /// Routes in config order.
    public var routes: [RouteConfig]
    /// Non-fatal findings from loading (shown by `relay check`).
    public var warnings: [ConfigIssue]

    /// Default ingest listener.
    public static let defaultListen = ListenAddress(host: "0.0.0.0", port: 8080)
    /// Default admin listener (loopback only).
    public static let defaultAdminListen = ListenAddress(host: "127.0.0.1", port: 8081)
    /// `relay check` warns about a shorter `admin.token`.
    public static let minimumAdminTokenLength = 24
    /// Default store.
    public static let defaultStore = StoreConfig.sqlite(path: "./data/relay.db")
    /// Default `store.lease`.
    public static let defaultStoreLease: Duration = .seconds(30)
    /// Longest `store.lease` and `shutdown_delay` accepted.
    public static let maximumStoreLease: Duration = .seconds(3_600)
    /// Default body limit (1 MiB).
    public static let defaultMaxBody = 1 << 20
    /// Largest allowed body limit (64 MiB).
    public static let maximumMaxBody = 64 << 20
    /// Default body read timeout.
    public static let defaultReadTimeout: Duration = .seconds(10)
    /// Default total time to receive one request.
    public static let defaultBodyTimeout: Duration = .seconds(10)
    /// Default cap on ingest connections.
    public static let defaultMaxConnections = 10_000
    /// Default cap on request body bytes held in memory (64 MiB).
    public static let defaultMaxBuffered = 64 << 20
    /// Largest allowed `max_buffered` (4 GiB).
    public static let maximumMaxBuffered = 4 << 30
    /// Default dedup window (7 days).
    public static let defaultDedupWindow: Duration = .seconds(7 * 86_400)
    /// Default `message_window` (14 days: a provider may send `read` up to 10 days after sending).
    public static let defaultMessageWindow: Duration = .seconds(14 * 86_400)
    /// Default retry schedule.
    public static let defaultRetry: [Duration] = [.seconds(1), .seconds(10), .seconds(30), .seconds(90)]

    /// Creates a configuration; every parameter defaults to what an absent key means in `routes.yaml`.
    public init(listen: ListenAddress = Self.defaultListen, adminListen: ListenAddress = Self.defaultAdminListen,
                adminToken: String? = nil, store: StoreConfig = Self.defaultStore, maxBody: Int = Self.defaultMaxBody,
                readTimeout: Duration = Self.defaultReadTimeout, bodyTimeout: Duration = Self.defaultBodyTimeout,
                maxConnections: Int = Self.defaultMaxConnections, maxBuffered: Int = Self.defaultMaxBuffered, dedupWindow: Duration = Self.defaultDedupWindow,
                retry: [Duration] = Self.defaultRetry, retryJitter: Double = 0, sources: [SourceConfig] = [],
                destinations: [DestinationConfig] = [], routes: [RouteConfig] = [], warnings: [ConfigIssue] = []) {
        self.listen = listen
        self.adminListen = adminListen
        self.adminToken = adminToken
        self.store = store
        self.maxBody = maxBody
        self.readTimeout = readTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
        self.maxBuffered = maxBuffered
        self.dedupWindow = dedupWindow
        self.retry = retry
        self.retryJitter = retryJitter
        self.sources = sources
        self.destinations = destinations
        self.routes = routes
        self.warnings = warnings
    }

    /// The source with this id, if configured.
    public func source(_ id: String) -> SourceConfig? {
        sources.first { $0.id == id }
    }

    /// The destination with this id, if configured.
    public func destination(_ id: String) -> DestinationConfig? {
        destinations.first { $0.id == id }
    }

    /// The routes and destinations as one ``RoutingTable``: where each event goes.
    public var routingTable: RoutingTable { RoutingTable(routes: routes, destinations: destinations) }

    /// Destination ids the routes name for an event of this source and canonical type, deduplicated, in config order
    /// (routes with a `where` count as not matching: they need the event; see ``RoutingTable``).
    public func destinations(forSource sourceID: String, type: String) -> [String] {
        routing(forSource: sourceID, type: type).always
    }

    /// Where an event of this source and type goes, by routes without a `where` (``RoutingTable/route(_:sourceID:providerFormat:)``
    /// decides for an event).
    public func routing(forSource sourceID: String, type: String) -> (always: [String], ifAdvancing: [String]) {
        let decision = routingTable.decide(sourceID: sourceID, type: type) { _ in false }
        return (decision.always, decision.ifAdvancing)
    }

    /// Destinations with `ordering: subject`, in config order (usually none: an empty array allocates nothing).
    public var orderedDestinations: [String] {
        destinations.contains { $0.ordering == .subject } ? destinations.filter { $0.ordering == .subject }.map(\.id) : []
    }

    /// The destination's own retry schedule, or the top-level one.
    public func retrySchedule(for destinationID: String) -> [Duration] {
        destination(destinationID)?.retry ?? retry
    }

    /// Same as `summary()`; never shows secrets.
    public var description: String { summary() }
}
