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

    private let queue = BatchQueue<Waiting>()
    private let maxGroupWeight: Int

    public init(maxGroupWeight: Int) { self.maxGroupWeight = maxGroupWeight }

    /// Queues `item` for the next group and waits until that group is committed.
    public func submit(_ item: Item, weight: Int) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            if !queue.append(Waiting(item: item, weight: weight, continuation: continuation)) {
                continuation.resume(throwing: StoreError.closed)
            }
        }
    }

    /// The next group to write (everything queued, up to `maxGroupWeight`), waiting for one if none is queued;
    /// nil once closed and drained.
    func nextGroup() async -> [Waiting]? {
        await queue.next { queued in
            var weight = 0
            var count = 0
            for waiting in queued {
                if count > 0 && weight + waiting.weight > maxGroupWeight { break }
                weight += waiting.weight
                count += 1
            }
            let group = Array(queued.prefix(count))
            queued.removeFirst(count)
            return group
        }
    }

    /// Refuses new items; queued ones are still written.
    public func close() { queue.close() }

    /// Runs the writer until closed: `write` commits a whole group and returns one result per item, in order.
    ///
    /// A group that fails for a reason that may lie in one of its items (`isolating` says which) is written again one
    /// item at a time, so the item at fault gets its own error and the others commit as if it had never been there: a
    /// value nobody thought of (a NUL byte once) fails one request, not every request that shared its commit. Items are
    /// independent, and a failed group's transaction left nothing behind, so writing them alone is the same write.
    public func runWriter(
        _ write: @Sendable ([Item]) async throws -> [Result],
        isolating: @Sendable (any Error) -> Bool = { _ in false },
        onGroup: @Sendable ([Item]) -> Void = { _ in }
    ) async {
        while let group = await nextGroup() {
            let items = group.map(\.item)
            do {
                let results = try await write(items)
                onGroup(items)
                for (waiting, result) in zip(group, results) { waiting.continuation.resume(returning: result) }
            } catch where group.count > 1 && isolating(error) {
                for waiting in group {
                    do {
                        guard let result = try await write([waiting.item]).first else { throw StoreError("a write returned no result") }
                        onGroup([waiting.item])
                        waiting.continuation.resume(returning: result)
                    } catch {
                        waiting.continuation.resume(throwing: error)
                    }
                }
            } catch {
                for waiting in group { waiting.continuation.resume(throwing: error) }
            }
        }
    }
}
