import Logging
import RelayCore
import RelayStore
import ServiceLifecycle
import Synchronization
import Testing

/// The store is a `Service`: its writer runs inside `run()`, so it starts first and stops last in a `ServiceGroup`,
/// and whatever the services after it write while they stop still reaches the disk.
@Suite("Store lifecycle")
struct StoreLifecycleTests {
    /// Stands for the dispatcher: on graceful shutdown it writes once more (its last outcomes) and then returns.
    final class LastWriter: Service {
        let store: SQLiteStore
        let stored = Mutex<[Bool]?>(nil)
        let started = Mutex(false)

        init(store: SQLiteStore) { self.store = store }

        func run() async throws {
            started.withLock { $0 = true }
            try? await gracefulShutdown()
            let result = try? await store.ingest(Sample.request("written-while-stopping"))
            stored.withLock { $0 = result ?? [] }
        }
    }

    @Test func theStoreStopsAfterTheServicesThatStartedAfterIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try SQLiteStore(path: dir.databasePath)
        let writer = LastWriter(store: store)
        let group = ServiceGroup(configuration: .init(services: [.init(service: store), .init(service: writer)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(5)
            while !writer.started.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await store.ingest(Sample.request("written-while-running")) == [true])
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(writer.stored.withLock { $0 } == [true], "the store was still writing when the service after it stopped")
        // After run() returned the store is closed; reopened, both events are there.
        await #expect(throws: StoreError.self) { try await store.ingest(Sample.request("late")) }
        let events = try await SQLiteStore(path: dir.databasePath).serving { reopened async throws in
            try await reopened.stats(nowMilliseconds: Sample.now).events
        }
        #expect(events == 2)
    }
}
