import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import RelayServer

// The benchmark's stack floor (bench/run.sh): relay's own stack, Hummingbird in and AsyncHTTPClient out, on relay's
// Swift Concurrency set-up (NIO's takeover and `EventLoopTaskExecutor`), doing none of relay's work (no verification,
// no store, no dispatcher).
//   relay-floor PORT       answers every POST at once with relay's 200 body ("H" in the results)
//   relay-floor PORT URL   forwards each POST body to URL and answers once URL has ("A'": nginx's proxy in A, in Swift)
//   relay-floor PORT nio   answers every request from a plain SwiftNIO HTTP/1.1 server, no framework ("N")
//   relay-floor PORT URL fwd   A' as relay's `Forwarder` calls AsyncHTTPClient (delegate, no tracer, HTTP/1.1 only)
//   relay-floor PORT URL best  fwd, each request pinned to the calling event loop (`.delegateAndChannel`)
//   relay-floor PORT URL own   A'': forwards with a minimal client on NIO's own HTTP/1.1 codec (`OwnClient`)
// It listens on 127.0.0.1 only and runs until SIGTERM or SIGINT.
let arguments = CommandLine.arguments
let ack = ByteBuffer(string: #"{"accepted":1,"duplicates":0}"#)
if arguments.count == 3, arguments[2] == "nio", let port = Int(arguments[1]) {
    try PlainNIO.serve(port: port, body: ack)
}
EventLoopTaskExecutor.takeOverGlobalExecutor()
let clientModes = ["ahc", "fwd", "best", "own"]
guard (2...4).contains(arguments.count), let port = Int(arguments[1]), arguments.count == 2 || URL(string: arguments[2]) != nil,
      arguments.count < 4 || clientModes.contains(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: relay-floor PORT [URL [ahc|fwd|best|own]]\n".utf8))
    exit(2)
}
let upstream = arguments.count >= 3 ? URL(string: arguments[2]) : nil
let mode = arguments.count == 4 ? arguments[3] : "ahc"
var configuration = HTTPClient.Configuration(
    redirectConfiguration: .disallow, connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024))
if mode == "fwd" || mode == "best" {
    configuration.httpVersion = .http1Only
    configuration.tracing.tracer = nil
}
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
let own = OwnClient(group: MultiThreadedEventLoopGroup.singleton)
let origin = upstream.map { OwnClient.Origin(host: $0.host ?? "127.0.0.1", port: $0.port ?? 80) }

/// Forwarder's delegate, reduced to the status (the body is discarded).
final class StatusReader: HTTPClientResponseDelegate, Sendable {
    private let status = Atomic<Int>(0)
    func didReceiveHead(task: HTTPClient.Task<Int>, _ response: HTTPResponseHead) -> EventLoopFuture<Void> {
        status.store(Int(response.status.code), ordering: .relaxed)
        return task.eventLoop.makeSucceededVoidFuture()
    }
    func didReceiveBodyPart(task: HTTPClient.Task<Int>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        task.eventLoop.makeSucceededVoidFuture()
    }
    func didFinishRequest(task: HTTPClient.Task<Int>) throws -> Int { status.load(ordering: .relaxed) }
}

let router = Router()
router.post("/webhooks/{source}") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    if let upstream {
        let status: Int
        switch mode {
        case "own":
            status = Int(try await own.post(origin!, path: upstream.path, headers: ["Content-Type": "application/json"], body: body,
                                             deadline: .now() + .seconds(10)).status.code)
        case "fwd", "best":
            let outbound = try HTTPClient.Request(url: upstream, method: .POST, headers: ["Content-Type": "application/json"], body: .byteBuffer(body))
            let preference: HTTPClient.EventLoopPreference = mode == "best"
                ? MultiThreadedEventLoopGroup.currentEventLoop.map { .delegateAndChannel(on: $0) } ?? .indifferent : .indifferent
            status = try await client.execute(request: outbound, delegate: StatusReader(), eventLoop: preference,
                                              deadline: .now() + .seconds(10)).futureResult.get()
        default:
            let outbound = try HTTPClient.Request(url: upstream, method: .POST, headers: ["Content-Type": "application/json"], body: .byteBuffer(body))
            status = Int(try await client.execute(request: outbound, deadline: .now() + .seconds(10)).get().status.code)
        }
        guard status == 200 else { return Response(status: .badGateway) }
    }
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ack))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "relay-floor"))
try await withTaskExecutorPreference(EventLoopTaskExecutor.shared) { try await app.runService() }
try await client.shutdown().get()
