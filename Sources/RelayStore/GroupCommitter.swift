import Synchronization

/// Collects the writes of concurrent requests so the single writer commits them together.
///
/// There is no timer: while one commit (and its fsync) is under way, new requests queue up, and the next
/// commit takes all of them. An idle edge therefore commits each request at once, and a busy one commits
/// in groups as large as the load makes them, up to `maxGroupWeight`.
///
/// A lock, not an actor: a request queues its item and suspends once, with no hop onto an actor's executor and
/// back on every ingest.
public final class GroupCommitter<Item: Sendable, Result: Sendable>: Sendable {
    struct Waiting: Sendable {
        var item: Item
        var weight: Int
        var continuation: CheckedContinuation<Result, any Error>
    }

    private struct State: Sendable {
        var queue: [Waiting] = []
        var writerWaiting: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private enum SubmitStep { case refuse, wake(CheckedContinuation<Void, Never>), none }
    private enum GroupStep { case group([Waiting]), done, wait }

    private let state = Mutex(State())
    private let maxGroupWeight: Int

    public init(maxGroupWeight: Int) { self.maxGroupWeight = maxGroupWeight }

    /// Queues `item` for the next group and waits until that group is committed.
    public func submit(_ item: Item, weight: Int) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let next = state.withLock { s -> SubmitStep in
                guard !s.closed else { return .refuse }
                s.queue.append(Waiting(item: item, weight: weight, continuation: continuation))
                guard let writer = s.writerWaiting else { return .none }
                s.writerWaiting = nil
                return .wake(writer)
            }
            switch next {
            case .refuse: continuation.resume(throwing: StoreError("the store is closed"))
            case .wake(let writer): writer.resume()
            case .none: break
            }
        }
    }

    /// The next group to write, waiting for one if none is queued; nil once closed and drained.
    func nextGroup() async -> [Waiting]? {
        while true {
            let step = state.withLock { s -> GroupStep in
                guard !s.queue.isEmpty else { return s.closed ? .done : .wait }
                var weight = 0
                var count = 0
                for waiting in s.queue {
                    if count > 0 && weight + waiting.weight > maxGroupWeight { break }
                    weight += waiting.weight
                    count += 1
                }
                if count == s.queue.count {
                    defer { s.queue.removeAll(keepingCapacity: true) }
                    return .group(s.queue)
                }
                let group = Array(s.queue.prefix(count))
                s.queue.removeFirst(count)
                return .group(group)
            }
            switch step {
            case .group(let group): return group
            case .done: return nil
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { s -> Bool in
                        if !s.queue.isEmpty || s.closed { return true }
                        s.writerWaiting = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Refuses new items; queued ones are still written.
    public func close() {
        let writer = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.writerWaiting = nil }
            return s.writerWaiting
        }
        writer?.resume()
    }

    /// Runs the writer until closed: `write` commits a whole group and returns one result per item, in order.
    public func runWriter(_ write: @Sendable ([Item]) async throws -> [Result], onGroup: @Sendable ([Item]) -> Void = { _ in }) async {
        while let group = await nextGroup() {
            do {
                let items = group.map(\.item)
                let results = try await write(items)
                onGroup(items)
                for (waiting, result) in zip(group, results) { waiting.continuation.resume(returning: result) }
            } catch {
                for waiting in group { waiting.continuation.resume(throwing: error) }
            }
        }
    }
}
