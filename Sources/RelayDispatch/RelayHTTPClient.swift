import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// relay's outbound HTTP/1.1 client, on NIO's own codec: what one delivery attempt needs and nothing else.
///
/// Why relay owns it: with AsyncHTTPClient a forwarded request cost the framework floor (bench/floor-clients.sh)
/// far more instructions than the exchange itself does on NIO's codec (README, Performance). What it does:
/// - keep-alive connections per origin (scheme, host, port), one exchange per connection at a time; a connection goes
///   back to its origin's idle list after a whole response unless the peer said `Connection: close`, and is closed
///   after `idleTimeout` unused; at most `maxIdlePerOrigin` idle connections are kept;
/// - http and https (NIOSSL, the system's trust roots, SNI for host names);
/// - a connect timeout, and the attempt's timeout as a hard deadline for the whole exchange (connect, request,
///   response head and body): a stalled or endless body cannot hold the attempt;
/// - the response head no larger than NIO's parser takes (80 KiB; a header flood fails the attempt);
/// - only the first `snippetLimit` bytes of the body kept: then the connection is closed rather than drained;
/// - redirects never followed (a 3xx is a status like any other), no retries: a refused connection fails at once.
public final class RelayHTTPClient: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: Duration = .seconds(3)
        public var idleTimeout: Duration = .seconds(60)
        public var maxIdlePerOrigin = 256
        /// Certificates trusted beside the system's roots (a private CA; tests).
        public var additionalTrustRoots: [NIOSSLCertificate] = []
        public init() {}
    }

    /// The response as far as relay read it.
    public struct Response: Sendable {
        public var status: Int
        public var retryAfter: String?
        /// The first `snippetLimit` bytes of the body.
        public var snippet: [UInt8] = []
    }

    /// What one exchange came to: the response head (if it arrived), the failure (if any), and whether relay itself
    /// stopped reading the body once it had the snippet (the response is then as good as whole).
    public struct Outcome: Sendable {
        public var response: Response?
        public var failure: DeliveryError?
        public var stoppedReading = false
        /// Whether the connection can carry another exchange (the response whole, the peer keeping it open).
        var reusable = false
    }

    struct Origin: Hashable, Sendable {
        var tls: Bool
        var host: String
        var port: Int
    }

    struct Connection: Sendable {
        let channel: any Channel
        let exchange: ExchangeHandler
    }

    private struct Idle {
        var connection: Connection
        var since: NIODeadline
    }

    private struct State {
        var idle: [Origin: [Idle]] = [:]
        var shutDown = false
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    private let tls = Mutex<NIOSSLContext?>(nil)
    private let sweeper = Mutex<RepeatedTask?>(nil)
    /// Connections opened so far (for tests and metrics).
    private let opened = Atomic<Int>(0)

    public init(configuration: Configuration = .init(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
        let idleTimeout = TimeAmount.nanoseconds(configuration.idleTimeout.nanoseconds)
        let sweep = TimeAmount.nanoseconds(configuration.idleTimeout.nanoseconds / 2)
        // Idle connections older than `idleTimeout` are closed by one sweep every half `idleTimeout`.
        let task = group.next().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { [weak self] _ in
            self?.closeIdle(olderThan: .now() - idleTimeout)
        }
        sweeper.withLock { $0 = task }
    }

    /// Connections opened so far.
    public var connectionsOpened: Int { opened.load(ordering: .relaxed) }

    /// Closes every idle connection; exchanges in flight end on their own (each has a deadline). Later requests fail.
    public func shutdown() async {
        sweeper.withLock { $0?.cancel(); $0 = nil }
        let idle = state.withLock { state -> [Idle] in
            state.shutDown = true
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0 }
        }
        for entry in idle { entry.connection.channel.close(promise: nil) }
    }

    private func closeIdle(olderThan limit: NIODeadline) {
        let stale = state.withLock { state -> [Idle] in
            var stale: [Idle] = []
            for (origin, list) in state.idle {
                let (old, fresh) = (list.filter { $0.since < limit }, list.filter { $0.since >= limit })
                guard !old.isEmpty else { continue }
                stale += old
                state.idle[origin] = fresh.isEmpty ? nil : fresh
            }
            return stale
        }
        for entry in stale { entry.connection.channel.close(promise: nil) }
    }

    /// POSTs `body` with `headers` to `url` and reads the response within `timeout` (the whole exchange), keeping at
    /// most `snippetLimit` bytes of its body. Never throws: a failure is in the outcome, with the head if it arrived.
    public func post(_ url: URL, headers: HTTPHeaders, body: [UInt8], timeout: Duration, snippetLimit: Int) async -> Outcome {
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return Outcome(failure: .requestNotBuilt("unsupported URL scheme in \(url.absoluteString)"))
        }
        guard let host = url.host, !host.isEmpty else { return Outcome(failure: .requestNotBuilt("no host in \(url.absoluteString)")) }
        let tls = scheme == "https"
        let origin = Origin(tls: tls, host: host, port: url.port ?? (tls ? 443 : 80))

        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: Self.target(of: url), headers: headers)
        if !head.headers.contains(name: "host") {
            let name = host.contains(":") ? "[\(host)]" : host
            head.headers.add(name: "Host", value: url.port.map { "\(name):\($0)" } ?? name)
        }
        head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))

        let connection: Connection
        do {
            connection = try await checkOut(origin, deadline: deadline, timeout: timeout)
        } catch {
            return Outcome(failure: DeliveryError(clientError: error, timeout: timeout, connectTimeout: configuration.connectTimeout))
        }
        let loop = connection.channel.eventLoop
        let promise = loop.makePromise(of: Outcome.self)
        let request = ExchangeHandler.Request(head: head, body: body, deadline: deadline, timeout: timeout, snippetLimit: snippetLimit,
                                              connectTimeout: configuration.connectTimeout, promise: promise)
        loop.execute { connection.exchange.start(request) }
        let outcome: Outcome
        do {
            outcome = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                loop.execute { connection.exchange.cancel(promise.futureResult) }
            }
        } catch {
            return Outcome(failure: .other("\(error)"))  // the promise is never failed
        }
        if outcome.reusable, connection.channel.isActive {
            checkIn(connection, origin: origin)
        }
        return outcome
    }

    /// The request target: path (at least "/") and query.
    static func target(of url: URL) -> String {
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        var path = components?.percentEncodedPath ?? url.path
        if path.isEmpty { path = "/" }
        if let query = components?.percentEncodedQuery { path += "?" + query }
        return path
    }

    private func checkIn(_ connection: Connection, origin: Origin) {
        let kept = state.withLock { state -> Bool in
            guard !state.shutDown, state.idle[origin, default: []].count < configuration.maxIdlePerOrigin else { return false }
            state.idle[origin, default: []].append(Idle(connection: connection, since: .now()))
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    private func checkOut(_ origin: Origin, deadline: NIODeadline, timeout: Duration) async throws -> Connection {
        while true {
            let entry = try state.withLock { state -> Idle? in
                guard !state.shutDown else { throw DeliveryError.cancelled }
                return state.idle[origin]?.popLast()
            }
            guard let entry else { break }
            if entry.connection.channel.isActive { return entry.connection }
        }
        return try await connect(origin, deadline: deadline, timeout: timeout)
    }

    private func tlsContext() throws -> NIOSSLContext {
        try tls.withLock { context in
            if let context { return context }
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if !configuration.additionalTrustRoots.isEmpty {
                tlsConfiguration.additionalTrustRoots = [.certificates(configuration.additionalTrustRoots)]
            }
            let made = try NIOSSLContext(configuration: tlsConfiguration)
            context = made
            return made
        }
    }

    private func connect(_ origin: Origin, deadline: NIODeadline, timeout: Duration) async throws -> Connection {
        let sslContext = origin.tls ? try tlsContext() : nil
        // The connect timeout, or what is left of the attempt's deadline if that is sooner (then it reads as the
        // attempt's timeout).
        let connectLimit = NIODeadline.now() + .nanoseconds(configuration.connectTimeout.nanoseconds)
        let attemptFirst = deadline < connectLimit
        let left = max(.milliseconds(1), (attemptFirst ? deadline : connectLimit) - .now())
        let exchange = ExchangeHandler()
        let serverHostname = Self.isIPAddress(origin.host) ? nil : origin.host
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(left)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(exchange)
                }
            }
        do {
            let channel = try await bootstrap.connect(host: origin.host, port: origin.port).get()
            opened.add(1, ordering: .relaxed)
            // A connect is not cut short by cancellation (at most the connect timeout): the exchange is.
            if Task.isCancelled {
                channel.close(promise: nil)
                throw CancellationError()
            }
            return Connection(channel: channel, exchange: exchange)
        } catch ChannelError.connectTimeout where attemptFirst {
            throw DeliveryError.timeout(timeout)
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// The last handler of a connection's pipeline: runs one exchange at a time, on the connection's event loop.
    /// Sendable only to be handed from the connect to the task: every method runs on its channel's event loop.
    final class ExchangeHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        struct Request {
            var head: HTTPRequestHead
            var body: [UInt8]
            var deadline: NIODeadline
            var timeout: Duration
            var snippetLimit: Int
            var connectTimeout: Duration
            var promise: EventLoopPromise<Outcome>
        }

        private var context: ChannelHandlerContext?
        private var request: Request?
        private var timer: Scheduled<Void>?
        private var response: Response?
        private var keepAlive = true
        private var reusable = false
        /// The error that closed the connection while no exchange ran.
        private var closedBy: (any Error)?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

        func start(_ request: Request) {
            reusable = false
            response = nil
            keepAlive = true
            guard let context, context.channel.isActive else {
                // Closed before its first exchange: by the error that closed it, if any (a TLS handshake runs as soon as
                // the connection is made, and its failure can come before the request does).
                let failure = closedBy.map { DeliveryError(clientError: $0, timeout: request.timeout, connectTimeout: request.connectTimeout) }
                return request.promise.succeed(Outcome(failure: failure ?? .connectionClosed))
            }
            self.request = request
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: request.deadline) { [self] in
                finish(failure: .timeout(self.request?.timeout ?? .zero))
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            context.write(wrapOutboundOut(.head(request.head)), promise: written)
            var buffer = context.channel.allocator.buffer(capacity: request.body.count)
            buffer.writeBytes(request.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            // A head the encoder refuses never reaches the peer: fail now. A write cut by the peer is for the read
            // side to report (a peer may answer before reading, then close).
            let exchange = request.promise.futureResult
            written.futureResult.assumeIsolated().whenFailure { [self] error in
                guard self.request?.promise.futureResult === exchange, !(error is IOError), !(error is ChannelError) else { return }
                finish(error)
            }
        }

        /// Cancels the exchange whose outcome is `exchange`, if it is still the one running (the connection may have
        /// gone back to the pool and carry another by the time this runs).
        func cancel(_ exchange: EventLoopFuture<Outcome>) {
            guard request?.promise.futureResult === exchange else { return }
            finish(failure: .cancelled)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // Nothing asked: a late part of an abandoned response (the connection is closing), or an unsolicited one.
            guard let request else { return context.close(promise: nil) }
            switch unwrapInboundIn(data) {
            case .head(let head):
                response = Response(status: Int(head.status.code), retryAfter: head.headers.first(name: "retry-after"))
                keepAlive = head.isKeepAlive
            case .body(let part):
                guard response != nil else { return }
                let take = min(part.readableBytes, request.snippetLimit - response!.snippet.count)
                if take > 0 { response!.snippet.append(contentsOf: part.readableBytesView.prefix(take)) }
                // Enough for the record: the rest is not read (the connection is closed rather than drained).
                if response!.snippet.count >= request.snippetLimit {
                    finish(failure: nil, stoppedReading: true)
                }
            case .end:
                reusable = keepAlive
                finish(failure: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(failure: .connectionClosed)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // TLS without close_notify: the connection's end says whether the response was whole.
            if let error = error as? NIOSSLError, case .uncleanShutdown = error { return }
            guard request != nil else {
                // An idle connection is not reused; a new one's first request reports why it closed.
                closedBy = closedBy ?? error
                return context.close(promise: nil)
            }
            // The peer closed mid-response (NIO's parser reports the early end of the stream).
            if let error = error as? HTTPParserError, error == .invalidEOFState { return finish(failure: .connectionClosed) }
            finish(error)
        }

        private func finish(_ error: any Error) {
            guard let request else { return }
            finish(failure: DeliveryError(clientError: error, timeout: request.timeout, connectTimeout: request.connectTimeout))
        }

        /// Ends the exchange (once): the outcome to the task; the connection closed unless the response was whole
        /// and the peer keeps it open.
        private func finish(failure: DeliveryError?, stoppedReading: Bool = false) {
            guard let request else { return }
            self.request = nil
            timer?.cancel()
            timer = nil
            if failure != nil || stoppedReading || !reusable {
                reusable = false
                context?.close(promise: nil)
            }
            request.promise.succeed(Outcome(response: response, failure: failure, stoppedReading: stoppedReading, reusable: reusable))
        }
    }
}
