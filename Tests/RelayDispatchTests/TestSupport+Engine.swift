import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import RelayCore
import RelayDispatch
import RelayServer
import RelayStore
import ServiceLifecycle
import Synchronization

/// The delivery engine in this process: a real SQLite file in a fresh temp dir, the dispatcher with its own
/// HTTP client, and the real ingest router on a live 127.0.0.1 listener, run in one `ServiceGroup`.
final class Engine: Sendable {
    let directory: TempDirectory
    let store: SQLiteStore
    let config: LiveConfig
    let dispatcher: Dispatcher
    private let client: HTTPClient
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let ingestPort: Int

    private init(directory: TempDirectory, store: SQLiteStore, config: LiveConfig, dispatcher: Dispatcher, client: HTTPClient,
                 group: ServiceGroup, task: Task<Void, any Error>, ingestPort: Int) {
        self.directory = directory
        self.store = store
        self.config = config
        self.dispatcher = dispatcher
        self.client = client
        self.group = group
        self.task = task
        self.ingestPort = ingestPort
    }

    /// Parses `yaml` (as `routes.yaml`) and starts the engine on a new store.
    static func start(yaml: String, shutdownGrace: Duration = .seconds(3)) async throws -> Engine {
        let parsed = try ConfigLoader.parse(yaml: yaml, file: "test.yaml", environment: [:])
        let directory = try TempDirectory()
        let store = try SQLiteStore(path: directory.file("relay.db"), logger: quietLogger("store"))
        let config = LiveConfig(parsed)
        let client = Forwarder.makeClient(maxConcurrency: parsed.destinations.map(\.concurrency).max() ?? 8)
        let dispatcher = Dispatcher(config: config, store: store, client: client, logger: quietLogger("dispatcher"), shutdownGrace: shutdownGrace)
        let port = Mutex<Int?>(nil)
        let ingest = Application(
            router: Routers.ingest(config: config, store: store, onJobsCreated: { dispatcher.wake() }),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "relay-test"),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
            logger: quietLogger("ingest"))
        let group = ServiceGroup(configuration: .init(services: [dispatcher, ingest], logger: quietLogger("engine.group")))
        // As `RelayRuntime` runs it: the dispatcher's workers and writer inherit the executor preference.
        let task = Task(executorPreference: EventLoopTaskExecutor.shared) { try await group.run() }
        guard await eventually({ port.withLock { $0 } != nil }), let ingestPort = port.withLock({ $0 }) else {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            try? await client.shutdown()
            await store.close()
            directory.remove()
            throw TestFailure("the ingest listener did not start")
        }
        return Engine(directory: directory, store: store, config: config, dispatcher: dispatcher, client: client,
                      group: group, task: task, ingestPort: ingestPort)
    }

    /// Runs `body` with a started engine and stops it afterwards, also when `body` throws.
    static func with<T>(yaml: String, shutdownGrace: Duration = .seconds(3), _ body: (Engine) async throws -> T) async throws -> T {
        let engine = try await start(yaml: yaml, shutdownGrace: shutdownGrace)
        do {
            let result = try await body(engine)
            await engine.stop()
            return result
        } catch {
            await engine.stop()
            throw error
        }
    }

    /// Graceful shutdown, then the HTTP client, the store and the temp dir.
    func stop() async {
        await stopKeepingFiles()
        directory.remove()
    }

    /// Graceful shutdown, then the HTTP client and the store; the temp dir stays for the caller to inspect and remove.
    func stopKeepingFiles() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? await client.shutdown()
        await store.close()
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
