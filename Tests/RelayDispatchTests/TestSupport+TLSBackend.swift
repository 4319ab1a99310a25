import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An HTTPS server on 127.0.0.1 (NIO and NIOSSL, a fixed self-signed certificate for `localhost` and 127.0.0.1) that
/// answers every request with 200 "ok" on kept-alive connections, counting the connections it accepted.
final class TLSBackend: Sendable {
    /// A self-signed P-256 certificate (CN and subjectAltName localhost, IP 127.0.0.1; valid until 2126) and its key,
    /// made for these tests with `openssl req -x509`: no system root vouches for it.
    static let certificatePEM = """
    -----BEGIN CERTIFICATE-----
    MIIBmjCCAUGgAwIBAgIUCC4dDaEpZRI4BYiVZyzbULl/EKcwCgYIKoZIzj0EAwIw
    FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNDIxNTcyMVoYDzIxMjYxMTEw
    MjE1NzIxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
    PQMBBwNCAAT7XE3VJlJya2iUCBiyeTTT39eHcdaF1XRUZgnKzVNW9eGLyFvegPIA
    wehyKZuoq5IZHCrsajDR+oLxAKiQ8jVSo28wbTAdBgNVHQ4EFgQUuIwjR+P/vKwu
    I4pn6MtoUDwiDG8wHwYDVR0jBBgwFoAUuIwjR+P/vKwuI4pn6MtoUDwiDG8wDwYD
    VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
    zj0EAwIDRwAwRAIgKLbwzFebEI6H8dNwJ21D64YnnCHqS3CZ3a2jh2mhW9ECIHuV
    BN9BVFGwVuzET7n9YofGU/u5NOdWu10tmk9u/9TC
    -----END CERTIFICATE-----
    """
    static let keyPEM = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc6LGPj8i/zsLcC+P
    lnZNfdzi+4eSvP5Pb1ealSdgd72hRANCAAT7XE3VJlJya2iUCBiyeTTT39eHcdaF
    1XRUZgnKzVNW9eGLyFvegPIAwehyKZuoq5IZHCrsajDR+oLxAKiQ8jVS
    -----END PRIVATE KEY-----
    """

    let port: Int
    private let channel: any Channel
    private let accepted: Counter

    var connections: Int { accepted.value.load(ordering: .relaxed) }
    /// `https://localhost:<port>/hook`
    var url: String { "https://localhost:\(port)/hook" }

    static var certificate: NIOSSLCertificate { get throws { try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem) } }

    private init(port: Int, channel: any Channel, accepted: Counter) {
        self.port = port
        self.channel = channel
        self.accepted = accepted
    }

    static func start() async throws -> TLSBackend {
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(try certificate)], privateKey: .privateKey(key))
        let context = try NIOSSLContext(configuration: configuration)
        let counter = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counter.value.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(OK())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TLSBackend(port: channel.localAddress?.port ?? 0, channel: channel, accepted: counter)
    }

    func stop() async throws { try await channel.close() }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private final class OK: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "2"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
