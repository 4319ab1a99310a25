import RelayStore
import Testing

/// The hand-over queue behind group commit and the dispatcher's outcome writer.
@Suite("Batch queue")
struct BatchQueueTests {
    @Test func aWaitingConsumerGetsEverythingQueuedSinceItsLastBatch() async throws {
        let queue = BatchQueue<Int>()
        let consumer = Task { await queue.next() }
        // Wait until the consumer sleeps, then hand over: it is woken, not left to a poll.
        try await Task.sleep(for: .milliseconds(20))
        #expect(queue.append(1))
        #expect(await consumer.value == [1])
        for n in 2...5 { queue.append(n) }
        #expect(await queue.next() == [2, 3, 4, 5])
        #expect(queue.count == 0)
    }

    @Test func aTakeCanLeaveTheRestForTheNextBatch() async {
        let queue = BatchQueue<Int>()
        for n in 1...5 { queue.append(n) }
        let firstTwo = await queue.next { items in defer { items.removeFirst(2) }; return Array(items.prefix(2)) }
        #expect(firstTwo == [1, 2])
        #expect(await queue.next() == [3, 4, 5])
    }

    @Test func closingRefusesNewItemsButDrainsQueuedAndPutBackOnes() async {
        let queue = BatchQueue<Int>()
        queue.append(1)
        queue.close()
        #expect(!queue.append(2), "appended after close")
        let batch = await queue.next()
        #expect(batch == [1])
        queue.putBack([1])  // a failed write's batch comes back even after close
        #expect(await queue.next() == [1])
        #expect(await queue.next() == nil)
    }

    @Test func closeWakesAWaitingConsumer() async throws {
        let queue = BatchQueue<Int>()
        let consumer = Task { await queue.next() }
        try await Task.sleep(for: .milliseconds(20))
        queue.close()
        #expect(await consumer.value == nil)
    }
}
