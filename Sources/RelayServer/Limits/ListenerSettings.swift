import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import RelayCore

/// How the two listeners are configured against hostile clients (SPEC section 13): connection caps, idle and total
/// request timeouts, and a file-descriptor reserve so the admin listener can always answer.
public enum ListenerSettings {
    /// Admin connections held at once: a scraper, a load balancer's probes and a few operators.
    public static let adminMaxConnections = 64
    /// How long an admin connection may stay silent, and how long one admin request may take to arrive.
    public static let adminTimeout: Duration = .seconds(30)
    /// File descriptors kept out of the ingest cap: the admin listener's, the store's, outbound connections, logs.
    public static let reservedDescriptors = adminMaxConnections + 448

    /// The ingest server: idle timeout `read_timeout`, a whole request within `body_timeout`, `100-continue` answered.
    /// Body bytes are counted in `budget` as they leave the parser (``BodyAdmission``).
    public static func ingestServer(_ config: RelayConfig, live: LiveConfig, budget: BodyBudget) -> HTTPServerBuilder {
        let bodyTimeout = config.bodyTimeout
        return .http1(configuration: .init(
            additionalChannelHandlers: [
                ConnectionGuard(timeout: bodyTimeout, maxBody: { live.current.maxBody }),
                BodyAdmission(budget: budget, limit: { live.current.maxBuffered }),
            ],
            idleTimeout: .nanoseconds(config.readTimeout.nanoseconds)))
    }

    /// The ingest listener's address and connection cap.
    public static func ingestConfiguration(_ config: RelayConfig, maxConnections: Int, serverName: String = "relay") -> ApplicationConfiguration {
        .init(address: .hostname(config.listen.host, port: config.listen.port), serverName: serverName,
              availableConnectionsDelegate: MaximumAvailableConnections(maxConnections))
    }

    /// The admin server: its own idle and request timeouts.
    public static func adminServer() -> HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(timeout: adminTimeout)],
                                    idleTimeout: .nanoseconds(adminTimeout.nanoseconds)))
    }

    /// The admin listener's address and connection cap, separate from ingest's so a flood there never fills it.
    public static func adminConfiguration(_ config: RelayConfig) -> ApplicationConfiguration {
        .init(address: .hostname(config.adminListen.host, port: config.adminListen.port), serverName: "relay-admin",
              availableConnectionsDelegate: MaximumAvailableConnections(adminMaxConnections))
    }

    /// `limits.max_connections`, lowered when the process may not open that many files beside its reserve, after
    /// raising the soft `nofile` limit to the hard one. A flood of ingest connections then waits in the backlog
    /// instead of taking the descriptors `/readyz` and `/metrics` need.
    public static func ingestMaxConnections(configured: Int, logger: Logger) -> Int {
        let limit = FileDescriptorLimit.raiseToHard()
        let room = max(1, limit - reservedDescriptors)
        guard configured > room else { return configured }
        logger.warning("ingest connections capped below limits.max_connections", metadata: [
            "limits.max_connections": .stringConvertible(configured), "connections.max": .stringConvertible(room),
            "nofile": .stringConvertible(limit),
        ])
        return room
    }
}
