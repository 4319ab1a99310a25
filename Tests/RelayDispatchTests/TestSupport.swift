import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import RelayCore
import Testing

/// Every suite of this target nests here: the engine tests measure timing, so they run one at a time
/// (`.serialized` applies to nested suites too) instead of competing for two cores.
@Suite(.serialized) enum DeliveryEngine {}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. A condition that throws
/// counts as not holding yet.
@discardableResult
func eventually(
    timeout: Duration = .seconds(5), poll: Duration = .milliseconds(10), _ condition: () async throws -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if (try? await condition()) == true { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: poll)
    }
}

/// Milliseconds between two instants, as a Double for tolerances.
func milliseconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Double {
    let d = end - start
    return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// A quiet logger for servers and the dispatcher under test.
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TempDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "relay-dispatch-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A free TCP port on 127.0.0.1 that the kernel never hands out by itself (below the ephemeral range, 32768 and up):
/// for a listener a test stops and starts again on the same port, which another test's `freePort()` could take in
/// between otherwise.
func reservablePort() throws -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: 20_000..<32_000)
        if (try? freePort(port)) != nil { return port }
    }
    throw TestFailure("no free port below the ephemeral range")
}

/// A free TCP port on 127.0.0.1 (bound, read, released): `port`, if it is free, or one the kernel picks.
func freePort(_ port: Int = 0) throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestFailure("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Provider bodies and the test's own signatures

/// LINE bodies and signatures, computed here independently of RelayCore.
enum LINE {
    static let destination = "Uc7472b39e21dab71c2347e02714630d6"

    /// A fresh id shaped like LINE's webhookEventId.
    static func eventID() -> String {
        "01T" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(23).uppercased()
    }

    /// One delivery-completion event (canonical type `delivery.delivered`).
    static func deliveryEvent(id: String, timestamp: Int64 = Timestamp.nowMilliseconds(),
                              data: String = "68df277462529930889fab80ecffdc0883906320591df93c25efc08300410fc2") -> String {
        #"{"type":"delivery","delivery":{"data":"\#(data)"},"#
            + #""webhookEventId":"\#(id)","deliveryContext":{"isRedelivery":false},"timestamp":\#(timestamp),"mode":"active"}"#
    }

    /// One follow event (canonical type `line.follow`).
    static func followEvent(id: String) -> String {
        #"{"type":"follow","replyToken":"r\#(id)","source":{"type":"user","userId":"U4af4980629"},"#
            + #""webhookEventId":"\#(id)","deliveryContext":{"isRedelivery":false},"timestamp":\#(Timestamp.nowMilliseconds()),"mode":"active"}"#
    }

    static func body(_ events: [String]) -> [UInt8] {
        Array((#"{"destination":"\#(destination)","events":["# + events.joined(separator: ",") + "]}").utf8)
    }

    /// base64(HMAC-SHA256(secret, body)).
    static func signature(_ body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString()
    }
}

/// Standard Webhooks, independently: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")).
enum StandardWebhooksCheck {
    static func expectedSignature(secret: String, id: String, timestamp: String, body: [UInt8]) -> String? {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))) else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).".utf8) + body, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }
}

/// An 8x8 delivery receipt with a fresh umid.
func eightByEightDelivered(umid: String = UUID().uuidString.lowercased()) -> [UInt8] {
    Array((#"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","description":"ChatApps outbound message delivery receipt","#
        + #""payload":{"umid":"\#(umid)","clientMessageId":"order-1","subAccountId":"acme_whatsapp","channel":"whatsapp","#
        + #""user":{"msisdn":"+6512345678","channelUserId":"6512345678"},"#
        + #""status":{"state":"delivered","detail":"delivered_to_recipient","timestamp":"2025-05-05T09:15:57.00Z"}}}"#).utf8)
}

// MARK: - Sending to an ingest listener

struct HTTPReply: Sendable {
    var status: Int
    var body: String
}

/// The test's own client for ingest traffic and probes: a refused connection fails at once (the shared client
/// would keep reconnecting for its whole connect timeout while a relay restarts). Lives as long as the process.
let testClient: HTTPClient = {
    var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(2)))
    configuration.connectionPool.retryConnectionEstablishment = false
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

/// POSTs `body` to `url` with the given headers over the test client.
func post(_ url: String, body: [UInt8], headers: [(String, String)] = [], timeout: TimeAmount = .seconds(10)) async throws -> HTTPReply {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await testClient.execute(request, timeout: timeout)
    let reply = try await response.body.collect(upTo: 1 << 20)
    return HTTPReply(status: Int(response.status.code), body: String(buffer: reply))
}

/// GETs `url`; nil when nothing answers.
func get(_ url: String, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(2)) async -> HTTPReply? {
    var request = HTTPClientRequest(url: url)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    guard let response = try? await testClient.execute(request, timeout: timeout),
          let body = try? await response.body.collect(upTo: 1 << 20) else { return nil }
    return HTTPReply(status: Int(response.status.code), body: String(buffer: body))
}

/// The config most engine tests use: one LINE source, one `crm` destination routed everything.
/// `destinationExtra` adds keys (already indented) under `crm`.
func lineToCRMYAML(secret: String, receiver: String, retry: String, destinationExtra: String = "format: canonical") -> String {
    """
    retry: \(retry)
    sources:
      line:
        provider: line
        channel_secret: \(secret)
    destinations:
      crm:
        url: \(receiver)
        \(destinationExtra)
    routes:
      - to: [crm]
    """
}
