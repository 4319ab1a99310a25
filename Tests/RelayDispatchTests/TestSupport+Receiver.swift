import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One request a receiver got.
struct Hit: Sendable {
    /// 0-based arrival order.
    var index: Int
    var path: String
    var headers: HTTPFields
    var body: [UInt8]
    var arrivedAt: ContinuousClock.Instant

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// What a receiver answers, and how long it takes first.
struct Reply: Sendable {
    var status: HTTPResponse.Status = .ok
    var headers: HTTPFields = [:]
    var body: [UInt8] = []
    var delay: Duration = .zero
    /// When set, the delay ends early once this answers true (a test releasing a held request).
    var releasedWhen: (@Sendable () -> Bool)? = nil
    /// When set, the body is streamed and then the response stalls this long before it ends.
    var stallAfterBody: Duration = .zero

    static let ok = Reply()
    static func status(_ status: HTTPResponse.Status, body: String = "") -> Reply { Reply(status: status, body: Array(body.utf8)) }
}

/// A real HTTP server on 127.0.0.1 (port chosen by the system) that records every request and answers
/// with what its handler says.
final class Receiver: Sendable {
    private final class State: Sendable {
        let hits = Mutex<[Hit]>([])
        let handler: Mutex<@Sendable (Hit) -> Reply>
        let stopping = Mutex(false)
        let port = Mutex<Int?>(nil)
        /// Requests being answered now, and the most at once.
        let inProgress = Mutex((now: 0, peak: 0))
        init(handler: @escaping @Sendable (Hit) -> Reply) { self.handler = Mutex(handler) }

        /// Sleeps in slices, so that stopping the receiver is not held up by a deliberately slow answer.
        func pause(_ duration: Duration, releasedWhen released: (@Sendable () -> Bool)? = nil) async {
            let until = ContinuousClock.now + duration
            while ContinuousClock.now < until, !stopping.withLock({ $0 }), !(released?() ?? false) {
                try? await Task.sleep(for: min(.milliseconds(20), until - ContinuousClock.now))
            }
        }
    }

    private let state: State
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let port: Int

    /// `http://127.0.0.1:<port>/hook`
    var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(state: State, group: ServiceGroup, task: Task<Void, any Error>, port: Int) {
        self.state = state
        self.group = group
        self.task = task
        self.port = port
    }

    /// Starts on `port` (0: any free one), so a test can stop a receiver and start another where it was.
    static func start(port: Int = 0, _ handler: @escaping @Sendable (Hit) -> Reply = { _ in .ok }) async throws -> Receiver {
        let state = State(handler: handler)
        let router = Router()
        // POST for webhooks; GET too, for a test that serves a browser a page.
        let answer: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let arrivedAt = ContinuousClock.now
            state.inProgress.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            defer { state.inProgress.withLock { $0.now -= 1 } }
            let body = Array(buffer: try await request.body.collect(upTo: 16 << 20))
            let hit = state.hits.withLock { hits in
                let hit = Hit(index: hits.count, path: request.uri.path, headers: request.headers, body: body, arrivedAt: arrivedAt)
                hits.append(hit)
                return hit
            }
            let reply = state.handler.withLock { $0 }(hit)
            await state.pause(reply.delay, releasedWhen: reply.releasedWhen)
            if reply.stallAfterBody > .zero {
                return Response(status: reply.status, headers: reply.headers, body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(bytes: reply.body))
                    await state.pause(reply.stallAfterBody)
                    try await writer.finish(nil)
                })
            }
            return Response(status: reply.status, headers: reply.headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        router.post("/**", use: answer)
        router.get("/**", use: answer)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "test-receiver"),
            onServerRunning: { channel in state.port.withLock { $0 = channel.localAddress?.port } },
            logger: quietLogger("receiver"))
        let group = ServiceGroup(configuration: .init(services: [app], logger: quietLogger("receiver.group")))
        let task = Task { try await group.run() }
        guard await eventually(timeout: .seconds(5), { state.port.withLock { $0 } != nil }), let port = state.port.withLock({ $0 }) else {
            task.cancel()
            throw TestFailure("the receiver did not start")
        }
        return Receiver(state: state, group: group, task: task, port: port)
    }

    /// Runs `body` with a started receiver and stops it afterwards, also when `body` throws.
    static func with<T>(
        _ handler: @escaping @Sendable (Hit) -> Reply = { _ in .ok }, _ body: (Receiver) async throws -> T
    ) async throws -> T {
        let receiver = try await start(handler)
        do {
            let result = try await body(receiver)
            await receiver.stop()
            return result
        } catch {
            await receiver.stop()
            throw error
        }
    }

    var hits: [Hit] { state.hits.withLock { $0 } }
    var count: Int { state.hits.withLock { $0.count } }
    /// The most requests this receiver was answering at the same time.
    var peakConcurrency: Int { state.inProgress.withLock { $0.peak } }

    /// Replaces the handler (e.g. a failing receiver that recovers).
    func respond(_ handler: @escaping @Sendable (Hit) -> Reply) { state.handler.withLock { $0 = handler } }

    func stop() async {
        state.stopping.withLock { $0 = true }
        await group.triggerGracefulShutdown()
        let task = self.task
        // A connection the client keeps open must not hold the test up: cancel after a while.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(3))
            task.cancel()
        }
        _ = try? await task.value
        watchdog.cancel()
    }
}
