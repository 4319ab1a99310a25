import ServiceLifecycle
import Synchronization

/// Whether relay has begun to stop: from the first moment of a graceful shutdown `/readyz` answers 503, so a load
/// balancer takes this instance out while it still accepts.
public final class StoppingFlag: Sendable {
    private let stopping = Atomic<Bool>(false)

    public init() {}

    public var isStopping: Bool { stopping.load(ordering: .relaxed) }
    func set() { stopping.store(true, ordering: .relaxed) }
}

/// The last service of the group, so the first one a graceful shutdown reaches: it raises `flag` and then holds the
/// shutdown for `delay` (`shutdown_delay`) while the listeners go on accepting; then the listeners stop accepting,
/// finish the requests under way, and the rest stops in reverse order.
struct DrainService: Service {
    let flag: StoppingFlag
    let delay: Duration

    func run() async throws {
        try? await gracefulShutdown()
        guard !Task.isCancelled else { return }
        flag.set()
        if delay > .zero { try? await Task.sleep(for: delay) }
    }
}
