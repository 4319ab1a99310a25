import NIOCore
import NIOPosix

/// NIO's event loops as one Swift task executor: a job runs on the loop it was enqueued from (the next loop of the
/// group when enqueued from another thread), as a task-executor job rather than on the loop's serial executor.
///
/// Relay's whole Swift Concurrency set-up is here, used by `relay` and by the benchmark's `relay-floor`: the global
/// executor takeover at start-up, and this executor preferred by the service group's run (`RelayRuntime`), whose
/// child tasks (listeners, connections, the dispatcher's workers and attempts) inherit the preference.
///
/// Why: with NIO's global-executor takeover (`takeOverGlobalExecutor()`), jobs run on a loop's *serial* executor, so every
/// call into a nonisolated async function is an executor switch: the task is enqueued again and waits for the
/// next loop tick. A Hummingbird request and its delivery took 59 such job runs per event (46 with batched
/// delivery). Tasks that prefer this executor run those calls inline (about 4 job runs per event, 2 batched), with
/// no thread hop added: the job stays on the loop it came from.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// Over `MultiThreadedEventLoopGroup.singleton`, the group relay's servers and HTTP client run on.
    public static let shared = EventLoopTaskExecutor(group: .singleton)

    private let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup) { self.group = group }

    /// Makes NIO's singleton event loops Swift Concurrency's global executor; call first thing in `main`, before any
    /// task starts. Tasks then run on the event-loop threads: no hop between two thread pools (and their wake-ups)
    /// for every request received and every request forwarded.
    public static func takeOverGlobalExecutor() {
        // False when another executor was already in place (too late to take over): relay runs as before, only slower.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
