import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RelayCore
import RelayServer
import RelayStore
import Testing

/// The test configuration, parsed by the real loader.
enum TestConfig {
    static let lineSecretA = "line-secret-aaaa-1111"
    static let lineSecretB = "line-secret-bbbb-2222"
    static let password = "pa:ss w#rd"
    static let bearer = "tok-0123456789"

    static let yaml = """
        limits:
          max_body: 1KiB
        sources:
          line:
            provider: line
            channel_secrets: [\(lineSecretA), \(lineSecretB)]
          line-local:
            provider: line
            channel_secret: \(lineSecretA)
            allow_from: [127.0.0.1/32]
          line-remote:
            provider: line
            channel_secret: \(lineSecretA)
            allow_from: [10.0.0.0/8]
          eight-basic:
            provider: 8x8
            auth:
              basic:
                username: relay
                password: "\(password)"
          eight-bearer:
            provider: 8x8
            auth:
              bearer: \(bearer)
          eight-none:
            provider: 8x8
            auth:
              none: true
        destinations:
          crm:
            url: http://127.0.0.1:9/events
        routes:
          - to: [crm]
        """

    static func live() throws -> LiveConfig {
        LiveConfig(try ConfigLoader.parse(yaml: yaml, file: "test-routes.yaml", environment: [:]))
    }
}

/// A fresh SQLite store in its own temp directory (or in a given one, which the caller then removes).
struct TestStore {
    let directory: URL
    let store: SQLiteStore
    let removesDirectory: Bool
    /// The store's `run()`, for the test's length (a ServiceGroup runs it in relay itself).
    let running: Task<Void, any Error>

    static func newDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("relay-server-\(UUID().uuidString)")
    }

    /// `readOnly`: the file is created (and migrated) by a writable open first, then reopened read-only.
    static func make(readOnly: Bool = false, in directory: URL? = nil) async throws -> TestStore {
        let dir = directory ?? newDirectory()
        let path = dir.appendingPathComponent("relay.db").path
        if readOnly {
            _ = try await SQLiteStore(path: path).serving { _ in }
        }
        let store = try SQLiteStore(path: path, readOnly: readOnly)
        return TestStore(directory: dir, store: store, removesDirectory: directory == nil, running: Task { try await store.run() })
    }

    func stats() async throws -> StoreStats { try await store.stats(nowMilliseconds: Timestamp.nowMilliseconds()) }

    func finish() async {
        running.cancel()
        _ = try? await running.value
        if removesDirectory { try? FileManager.default.removeItem(at: directory) }
    }
}

/// Runs the ingest router on a live server with a fresh store.
enum IngestServer {
    static func test(
        readOnly: Bool = false, store: TestStore? = nil, logger: Logger? = nil,
        _ body: @Sendable (any TestClientProtocol, TestStore) async throws -> Void
    ) async throws {
        let testStore: TestStore
        if let store {
            testStore = store
        } else {
            testStore = try await TestStore.make(readOnly: readOnly)
        }
        let router = Routers.ingest(config: try TestConfig.live(), store: testStore.store)
        let app = logger.map { Application(router: router, logger: $0) } ?? Application(router: router)
        do {
            try await app.test(.live) { client in try await body(client, testStore) }
        } catch {
            await testStore.finish()
            throw error
        }
        await testStore.finish()
    }

    /// Serves on 127.0.0.1 exactly (not `localhost`, which may be `::1`), for tests about the peer address.
    static func onLoopbackIPv4(_ store: TestStore, _ body: @Sendable (Int) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: Routers.ingest(config: try TestConfig.live(), store: store.store),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "relay.test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            defer { group.cancelAll() }
            try await body(port)
        }
    }
}

/// Building and reading requests.
enum HTTP {
    static let lineSignature = HTTPField.Name("X-Line-Signature")!

    static func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func lineHeaders(_ body: String, secret: String = TestConfig.lineSecretA, name: String = "X-Line-Signature") -> HTTPFields {
        [HTTPField.Name(name)!: LINEProvider.signature(body: Array(body.utf8), channelSecret: secret), .contentType: "application/json"]
    }

    static func authorization(_ value: String) -> HTTPFields {
        [.authorization: value, .contentType: "application/json"]
    }

    static var basic: String { "Basic " + Data("relay:\(TestConfig.password)".utf8).base64EncodedString() }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONParser.parse(Array(response.body.readableBytesView))
    }

    /// A 200 acknowledgement with these counts.
    static func expectAck(
        _ response: TestResponse, accepted: Int, duplicates: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == .ok, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        let body = try json(response)
        #expect(body == .object(["accepted": .integer(accepted), "duplicates": .integer(duplicates)]),
                "\(String(buffer: response.body))", sourceLocation: sourceLocation)
    }

    /// An error answer `{"error": code, "message": ...}` with this status.
    static func expectError(
        _ response: TestResponse, _ status: HTTPResponse.Status, _ code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        let body = try json(response)
        #expect(body["error"] == .string(code), "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(body["message"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(body.objectValue?.members.map(\.key) == ["error", "message"], sourceLocation: sourceLocation)
    }
}

/// LINE bodies.
enum LINEBody {
    static func event(_ id: String, redelivery: Bool = false, data: String = "tag-1") -> String {
        #"{"type":"delivery","delivery":{"data":"\#(data)"},"webhookEventId":"\#(id)","deliveryContext":{"isRedelivery":\#(redelivery)},"timestamp":1650590038721,"mode":"active"}"#
    }

    static func body(_ events: [String]) -> String {
        #"{"destination":"Uc7472b39e21dab71c2347e02714630d6","events":[\#(events.joined(separator: ","))]}"#
    }

    static func body(ids: String...) -> String { body(ids.map { event($0) }) }
}

/// 8x8 bodies.
enum EightByEightBody {
    static func receipt(umid: String, state: String = "delivered") -> String {
        #"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","payload":{"umid":"\#(umid)","subAccountId":"acc","channel":"whatsapp","status":{"state":"\#(state)","timestamp":"2025-05-05T09:15:57.00Z"}}}"#
    }
}

/// The providers' sample bodies, at `<repository root>/Tests/Fixtures`.
enum ServerFixtures {
    static func bytes(_ name: String, file: String = #filePath) throws -> [UInt8] {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            try #require(directory.path != "/", "no Package.swift above \(file)")
            directory = directory.deletingLastPathComponent()
        }
        let url = directory.appendingPathComponent("Tests/Fixtures/\(name)")
        return Array(try Data(contentsOf: url))
    }
}

extension StoreStats {
    /// Pending jobs of one destination (0 when it has none).
    func pending(_ destination: String) -> Int {
        destinations.first { $0.destination == destination }?.pending ?? 0
    }
}
