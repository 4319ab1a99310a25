import Foundation
import Synchronization

/// A TCP server on 127.0.0.1 that misbehaves on every connection as `behaviour` says, for what no HTTP server library
/// will do: answer before reading, close mid-head, send broken framing or a body with no end. Blocking POSIX calls on
/// threads of its own; every loop ends at `stop()`, and each connection after `connectionLifetime` at the latest.
final class RawBackend: Sendable {
    /// The longest a connection is served, whatever its behaviour: no thread outlives a test by much.
    static let connectionLifetime: Duration = .seconds(15)

    let port: Int
    private let listener: Int32
    private let stopping = Atomic<Bool>(false)
    /// Threads still running: the accept loop and one per connection.
    private let running = Atomic<Int>(0)
    private let accepted = Atomic<Int>(0)

    /// `http://127.0.0.1:<port>/hook`
    var url: String { "http://127.0.0.1:\(port)/hook" }
    var isStopping: Bool { stopping.load(ordering: .acquiring) }
    /// Connections accepted so far.
    var connections: Int { accepted.load(ordering: .relaxed) }

    /// Listens on a port the system picks and serves each connection on a thread of its own with `behaviour`; the
    /// connection is closed when `behaviour` returns.
    init(_ behaviour: @escaping @Sendable (RawPeer) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 128) == 0 else {
            close(fd)
            throw TestFailure("bind() or listen() failed: errno \(errno)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        running.add(1, ordering: .relaxed)
        Thread.detachNewThread { [self] in
            acceptLoop(behaviour)
            running.subtract(1, ordering: .releasing)
        }
    }

    /// Stops accepting and ends every connection's loop; false when some thread was still running after `timeout`.
    @discardableResult
    func stop(timeout: Duration = .seconds(5)) async -> Bool {
        stopping.store(true, ordering: .releasing)
        return await eventually(timeout: timeout, poll: .milliseconds(20)) { running.load(ordering: .acquiring) == 0 }
    }

    private func acceptLoop(_ behaviour: @escaping @Sendable (RawPeer) -> Void) {
        defer { close(listener) }
        while !isStopping {
            // Polled in slices, so that `stop()` is seen without closing a descriptor another thread waits on.
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            let peer = RawPeer(fd: fd, index: accepted.add(1, ordering: .relaxed).oldValue, backend: self)
            running.add(1, ordering: .relaxed)
            Thread.detachNewThread { [self] in
                behaviour(peer)
                peer.close()
                running.subtract(1, ordering: .releasing)
            }
        }
    }
}

/// One connection a `RawBackend` accepted, with the few reads and writes its behaviours need. Every call returns
/// once the client has gone, the backend stops, or the connection's lifetime is up.
final class RawPeer: @unchecked Sendable {  // one thread at a time uses a peer
    private let fd: Int32
    private let backend: RawBackend
    private let deadline = ContinuousClock.now + RawBackend.connectionLifetime
    private var closed = false
    /// 0-based order of acceptance, for behaviours that vary between connections.
    let index: Int
    /// Everything read so far.
    private(set) var received: [UInt8] = []

    init(fd: Int32, index: Int, backend: RawBackend) {
        self.fd = fd
        self.index = index
        self.backend = backend
        // A send blocked on a client that stopped reading wakes up now and then to see whether to give up.
        var slice = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &slice, socklen_t(MemoryLayout<timeval>.size))
    }

    var isLive: Bool { !closed && !backend.isStopping && ContinuousClock.now < deadline }

    /// Reads until `received` holds at least `count` bytes; false when the client closed first.
    @discardableResult
    func read(atLeast count: Int) -> Bool { fill { $0.count >= count } }

    /// Reads the request head (through the blank line); false when it did not all arrive.
    @discardableResult
    func readHead() -> Bool { fill { Self.headEnd(in: $0) != nil } }

    /// Reads the head and as much body as its `Content-Length` announces.
    @discardableResult
    func readRequest() -> Bool {
        guard readHead(), let end = Self.headEnd(in: received) else { return false }
        let head = String(decoding: received[..<end], as: UTF8.self).lowercased()
        let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        requestSize = end + length
        return read(atLeast: end + length)
    }

    /// The size of the request `readRequest()` read last (head and body).
    private var requestSize = 0

    /// Reads the next request on a kept-alive connection (as `readRequest()`), the ones before it dropped first.
    @discardableResult
    func readNextRequest() -> Bool {
        received.removeFirst(min(requestSize, received.count))
        requestSize = 0
        return readRequest()
    }

    /// Reads and drops whatever comes until the client closes (or the backend stops): a backend that never answers.
    func holdUntilClientCloses() { _ = fill { _ in false } }

    /// Sends all of `bytes`; false once the client has gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            guard isLive else { return false }
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    private func fill(until done: ([UInt8]) -> Bool) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !done(received) {
            guard isLive else { return false }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            received += chunk[0..<count]
        }
        return true
    }

    /// The offset just past the head's blank line.
    static func headEnd(in bytes: [UInt8]) -> Int? {
        let marker: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4 else { return nil }
        return (0...(bytes.count - 4)).first { bytes[$0..<$0 + 4].elementsEqual(marker) }.map { $0 + 4 }
    }
}
