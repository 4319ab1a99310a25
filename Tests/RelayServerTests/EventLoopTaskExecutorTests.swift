import Foundation
import Logging
import NIOCore
import NIOPosix
import RelayServer
import ServiceLifecycle
import Synchronization
import Testing

/// Tasks preferring `EventLoopTaskExecutor.shared` run on NIO's singleton loops, stay there across awaits, and the
/// preference reaches child tasks.
@Suite struct EventLoopTaskExecutorBehaviour {
    /// Whether this thread is one of the singleton group's loops.
    static func onSingletonLoop() -> Bool {
        guard let current = MultiThreadedEventLoopGroup.currentEventLoop else { return false }
        return MultiThreadedEventLoopGroup.singleton.makeIterator().contains { $0 === current }
    }

    static func nonisolatedStep() async -> Bool {
        await Task.yield()
        return onSingletonLoop()
    }

    @Test func preferringTasksRunOnTheLoopsThroughAwaitsAndChildTasks() async {
        let results = await Task(executorPreference: EventLoopTaskExecutor.shared) { () -> [Bool] in
            var seen = [Self.onSingletonLoop()]
            for _ in 0..<20 { seen.append(await Self.nonisolatedStep()) }
            let children = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<200 { group.addTask { await Self.nonisolatedStep() } }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            return seen + children
        }.value
        #expect(results.count == 221)
        #expect(results.allSatisfy { $0 }, "\(results.filter { !$0 }.count) steps ran off the event loops")
    }

    @Test func continuationsResumedFromOtherThreadsComeBackToALoop() async {
        let resumed = await Task(executorPreference: EventLoopTaskExecutor.shared) { () -> Bool in
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread { continuation.resume() }.start()
            }
            return Self.onSingletonLoop()
        }.value
        #expect(resumed)
    }

    /// As `RelayRuntime` runs its group: a service's own child tasks (the dispatcher's workers, their attempts)
    /// inherit the preference through the service group, with no preference of their own.
    @Test func childTasksOfAServiceInAPreferringGroupRunOnTheLoops() async throws {
        let probe = ChildTaskProbe()
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: probe, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: Logger(label: "executor.test")))
        try await withTaskExecutorPreference(EventLoopTaskExecutor.shared) { try await group.run() }
        let seen = probe.seen.withLock { $0 }
        #expect(seen.count == 50)
        #expect(seen.allSatisfy { $0 }, "\(seen.filter { !$0 }.count) child steps ran off the event loops")
    }
}

/// A service whose `run()` starts child tasks, as the dispatcher does, and records where they ran.
final class ChildTaskProbe: Service, Sendable {
    let seen = Mutex<[Bool]>([])

    func run() async throws {
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 { group.addTask { await EventLoopTaskExecutorBehaviour.nonisolatedStep() } }
            for await onLoop in group { seen.withLock { $0.append(onLoop) } }
        }
    }
}
