import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import RelayCore
import RelayDispatch
import RelayServer
import RelayStore
import Prometheus
import ServiceLifecycle
import Synchronization

/// The delivery engine in this process, wired as `relay serve` wires it (``RelayApplication``): a real SQLite file in
/// a fresh temp dir, the dispatcher with its own HTTP client, and the real listeners on 127.0.0.1, in one `ServiceGroup`.
final class Engine: Sendable {
    let directory: TempDirectory
    let application: RelayApplication
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let ingestPort: Int
    /// The admin listener's port, once it runs (0 before).
    var adminPort: Int { admin.port.withLock { $0 } ?? 0 }
    private let admin: BoundPort

    /// The engine's store: SQLite (the file in `directory`) unless started on PostgreSQL.
    var store: any Store { application.store }
    var config: LiveConfig { application.config }
    var dispatcher: Dispatcher { application.dispatcher }

    private init(directory: TempDirectory, application: RelayApplication, group: ServiceGroup, task: Task<Void, any Error>, ingestPort: Int,
                 admin: BoundPort) {
        self.admin = admin
        self.directory = directory
        self.application = application
        self.group = group
        self.task = task
        self.ingestPort = ingestPort
    }

    /// Parses `yaml` (as `routes.yaml`) and starts the engine on a new store (listeners on 127.0.0.1, free ports): a
    /// SQLite file, or the PostgreSQL database at `postgres`.
    static func start(yaml: String, postgres: String? = nil, shutdownGrace: Duration = .seconds(3)) async throws -> Engine {
        var parsed = try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: [:])
        let directory = try TempDirectory()
        parsed.store = postgres.map { .postgres(url: $0) } ?? .sqlite(path: directory.file("relay.db"))
        parsed.listen = ListenAddress(host: "127.0.0.1", port: 0)
        parsed.adminListen = ListenAddress(host: "127.0.0.1", port: 0)
        let port = Mutex<Int?>(nil)
        let admin = BoundPort()
        let application = try RelayApplication.build(
            config: parsed, configPath: nil, registry: PrometheusCollectorRegistry(), logger: quietLogger("engine"),
            shutdownGrace: shutdownGrace, onIngestRunning: { bound in port.withLock { $0 = bound } },
            onAdminRunning: { bound in admin.port.withLock { $0 = bound } })
        let group = application.serviceGroup(gracefulShutdownSignals: [], logger: quietLogger("engine.group"))
        let task = Task { try await group.run() }
        guard await eventually({ port.withLock { $0 } != nil }), let ingestPort = port.withLock({ $0 }) else {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            directory.remove()
            throw TestFailure("the ingest listener did not start")
        }
        return Engine(directory: directory, application: application, group: group, task: task, ingestPort: ingestPort, admin: admin)
    }

    /// Runs `body` with a started engine and stops it afterwards, also when `body` throws.
    static func with<T>(yaml: String, postgres: String? = nil, shutdownGrace: Duration = .seconds(3), _ body: (Engine) async throws -> T) async throws -> T {
        let engine = try await start(yaml: yaml, postgres: postgres, shutdownGrace: shutdownGrace)
        do {
            let result = try await body(engine)
            await engine.stop()
            return result
        } catch {
            await engine.stop()
            throw error
        }
    }

    /// Graceful shutdown (the store stops last, as in relay), then the temp dir.
    func stop() async {
        await stopKeepingFiles()
        directory.remove()
    }

    /// Graceful shutdown of every service; the temp dir stays for the caller to inspect and remove.
    func stopKeepingFiles() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    func webhookURL(_ source: String) -> String { "http://127.0.0.1:\(ingestPort)/webhooks/\(source)" }

    /// Posts a LINE body signed with `secret` to source `source`.
    func postLINE(_ body: [UInt8], source: String = "line", secret: String) async throws -> HTTPReply {
        try await post(webhookURL(source), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: secret))])
    }

    /// Stores a body's events straight through the store (no HTTP), routed by the config, and wakes the dispatcher.
    @discardableResult
    func ingestDirect(_ body: [UInt8], source: String, provider: ProviderKind) async throws -> [IncomingEvent] {
        let now = Timestamp.nowMilliseconds()
        let events = try ProviderRegistry.provider(for: provider)!.events(from: body, sourceID: source, receivedAtMilliseconds: now)
        let current = config.current
        let items = events.map { event in
            let destinations = current.destinations(forSource: source, type: event.type)
            let passthrough = destinations.contains { current.destination($0)?.format == .passthrough }
            return IngestRequest.Event(event: event, destinations: destinations, keepPassthrough: passthrough)
        }
        _ = try await store.ingest(IngestRequest(
            sourceID: source, provider: provider, receivedAtMilliseconds: now,
            dedupExpiresAtMilliseconds: now + 3_600_000, events: items))
        dispatcher.wake()
        return events
    }

    /// Job counts of one destination now.
    func stats(_ destination: String) async throws -> DestinationStats {
        let stats = try await store.stats(nowMilliseconds: Timestamp.nowMilliseconds())
        return stats.destinations.first { $0.destination == destination } ?? DestinationStats(destination: destination)
    }
}

/// A listener's port, set once it runs.
final class BoundPort: Sendable {
    let port = Mutex<Int?>(nil)
}
