/// Collects the writes of concurrent requests so the single writer commits them together.
///
/// There is no timer: while one commit (and its fsync) is under way, new requests queue up, and the next
/// commit takes all of them. An idle edge therefore commits each request at once, and a busy one commits
/// in groups as large as the load makes them, up to `maxGroupEvents`.
public actor GroupCommitter<Item: Sendable, Result: Sendable> {
    struct Waiting {
        var item: Item
        var weight: Int
        var continuation: CheckedContinuation<Result, any Error>
    }

    private var queue: [Waiting] = []
    private var writerWaiting: CheckedContinuation<Void, Never>?
    private var closed = false
    private let maxGroupWeight: Int

    public init(maxGroupWeight: Int) { self.maxGroupWeight = maxGroupWeight }

    /// Queues `item` for the next group and waits until that group is committed.
    public func submit(_ item: Item, weight: Int) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            guard !closed else {
                continuation.resume(throwing: StoreError("the store is closed"))
                return
            }
            queue.append(Waiting(item: item, weight: weight, continuation: continuation))
            if let writer = writerWaiting {
                writerWaiting = nil
                writer.resume()
            }
        }
    }

    /// The next group to write, waiting for one if none is queued; nil once closed and drained.
    func nextGroup() async -> [Waiting]? {
        while queue.isEmpty {
            if closed { return nil }
            await withCheckedContinuation { writerWaiting = $0 }
        }
        var weight = 0
        var count = 0
        for waiting in queue {
            if count > 0 && weight + waiting.weight > maxGroupWeight { break }
            weight += waiting.weight
            count += 1
        }
        let group = Array(queue.prefix(count))
        queue.removeFirst(count)
        return group
    }

    /// Refuses new items; queued ones are still written.
    public func close() {
        closed = true
        writerWaiting?.resume()
        writerWaiting = nil
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
