import Synchronization

/// Items handed over by many tasks and taken in batches by one consumer that sleeps while there are none.
/// No timer and no actor: a producer appends under a lock and wakes the consumer if it waits.
public final class BatchQueue<Element: Sendable>: Sendable {
    private struct State: Sendable {
        var items: [Element] = []
        var consumer: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Appends `element`; false (and nothing added) once closed.
    @discardableResult
    public func append(_ element: Element) -> Bool { append(contentsOf: CollectionOfOne(element), front: false, evenIfClosed: false) }

    /// Puts `elements` back ahead of the rest (a batch whose write failed); taken even after `close()`.
    public func putBack(_ elements: [Element]) { append(contentsOf: elements, front: true, evenIfClosed: true) }

    @discardableResult
    private func append(contentsOf elements: some Collection<Element>, front: Bool, evenIfClosed: Bool) -> Bool {
        let (added, consumer) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !s.closed || evenIfClosed else { return (false, nil) }
            if front { s.items.insert(contentsOf: elements, at: 0) } else { s.items.append(contentsOf: elements) }
            defer { s.consumer = nil }
            return (true, s.consumer)
        }
        consumer?.resume()
        return added
    }

    public var count: Int { state.withLock { $0.items.count } }
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Refuses new items; those queued are still taken.
    public func close() {
        let consumer = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.consumer = nil }
            return s.consumer
        }
        consumer?.resume()
    }

    /// The next batch, as `take` removes it from the queued items (never empty), waiting while none are queued;
    /// nil once closed and drained. One consumer at a time.
    public func next(_ take: (inout [Element]) -> [Element] = { items in defer { items.removeAll(keepingCapacity: true) }; return items }) async -> [Element]? {
        while true {
            let (batch, done) = state.withLock { s -> ([Element]?, Bool) in
                s.items.isEmpty ? (nil, s.closed) : (take(&s.items), false)
            }
            if let batch { return batch }
            if done { return nil }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { s -> Bool in
                    if !s.items.isEmpty || s.closed { return true }
                    s.consumer = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
