import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import RelayServer

// The benchmark's stack floor (bench/run.sh): relay's own stack, Hummingbird in and AsyncHTTPClient out, on relay's
// Swift Concurrency set-up (NIO's takeover and `EventLoopTaskExecutor`), doing none of relay's work (no verification,
// no store, no dispatcher).
//   relay-floor PORT       answers every POST at once with relay's 200 body ("H" in the results)
//   relay-floor PORT URL   forwards each POST body to URL and answers once URL has ("A'": nginx's proxy in A, in Swift)
//   relay-floor PORT nio   answers every request from a plain SwiftNIO HTTP/1.1 server, no framework ("N")
// It listens on 127.0.0.1 only and runs until SIGTERM or SIGINT.
let arguments = CommandLine.arguments
let ack = ByteBuffer(string: #"{"accepted":1,"duplicates":0}"#)
if arguments.count == 3, arguments[2] == "nio", let port = Int(arguments[1]) {
    try PlainNIO.serve(port: port, body: ack)
}
EventLoopTaskExecutor.takeOverGlobalExecutor()
guard (2...3).contains(arguments.count), let port = Int(arguments[1]), arguments.count == 2 || URL(string: arguments[2]) != nil else {
    FileHandle.standardError.write(Data("usage: relay-floor PORT [URL]\n".utf8))
    exit(2)
}
let upstream = arguments.count == 3 ? URL(string: arguments[2]) : nil
let client = HTTPClient(
    eventLoopGroupProvider: .singleton,
    configuration: .init(redirectConfiguration: .disallow, connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)))

let router = Router()
router.post("/webhooks/{source}") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    if let upstream {
        let outbound = try HTTPClient.Request(url: upstream, method: .POST, headers: ["Content-Type": "application/json"], body: .byteBuffer(body))
        let answer = try await client.execute(request: outbound, deadline: .now() + .seconds(10)).get()
        guard answer.status == .ok else { return Response(status: .badGateway) }
    }
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ack))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "relay-floor"))
try await withTaskExecutorPreference(EventLoopTaskExecutor.shared) { try await app.runService() }
try await client.shutdown().get()
