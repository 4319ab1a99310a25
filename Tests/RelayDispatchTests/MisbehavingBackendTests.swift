import Foundation
import RelayCore
import RelayTestSupport
import Testing

extension DeliveryEngine {
/// SPEC section 13: no destination's behaviour ends or stalls relay. One `relay serve` routes every event to a healthy
/// receiver and to one raw TCP backend per misbehaviour below: each bad attempt must be a failed attempt on the
/// schedule, recorded in readable words, and must cost the healthy destination nothing.
/// Serialized, as `HostileClientTests`: twelve backends' threads and a relay busy with all of them load the machine.
@Suite("Misbehaving backends", .serialized)
struct MisbehavingBackendTests {
    static let secret = "misbehaving-backend-secret"
    static let events = 8
    /// Two retries, so every job of a bad backend is a dead letter after three attempts, within about 3.5 s.
    static let attempts = 3
    /// The most a dead letter holds, in bytes: 1 KiB of error text, and 1 KiB of a response with each byte escaped to 4.
    static let maxErrorBytes = 1024, maxResponseBytes = 4096

    @Test func everyMisbehaviourIsAFailedAttemptOnSQLite() async throws {
        try await Self.run(store: nil)
    }

    /// The store where a NUL in a backend's reply once failed the whole outcome batch, so healthy destinations got
    /// every event again and again.
    @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
    func everyMisbehaviourIsAFailedAttemptOnPostgreSQL() async throws {
        try await Self.run(store: "postgres: \(try await TestPostgres.shared.makeDatabase())")
    }

    static func yaml(healthy: String, backends: [(Misbehaviour, RawBackend)]) -> String {
        let bad = backends.map { behaviour, backend in
            """
              \(behaviour.rawValue):
                url: \(backend.url)
                timeout: 1s
                retry: [100ms, 200ms]
                breaker: off

            """
        }
        return """
            sources:
              line:
                provider: line
                channel_secret: \(secret)
            destinations:
              healthy:
                url: \(healthy)

            """ + bad.joined() + """
            routes:
              - to: [healthy, \(backends.map(\.0.rawValue).joined(separator: ", "))]
            """
    }

    static func run(store: String?) async throws {
        let healthy = try await Receiver.start()
        var backends: [(Misbehaviour, RawBackend)] = []
        var failure: (any Error)?
        do {
            for behaviour in Misbehaviour.allCases { backends.append((behaviour, try RawBackend(behaviour.serve))) }
            let relays = try RelayProcesses(yamlBody: yaml(healthy: healthy.url, backends: backends), store: store)
            do {
                let process = try await relays.start()
                try await exercise(relays, process, healthy: healthy)
            } catch {
                print("relay log:\n\(relays.logTail())")
                failure = error
            }
            await relays.cleanUp()
        } catch {
            failure = error
        }
        // After the relay is gone no backend thread has a client left to wait on: each must end at once.
        for (behaviour, backend) in backends {
            #expect(await backend.stop(), "\(behaviour.rawValue): a connection's thread outlived the test")
        }
        await healthy.stop()
        if let failure { throw failure }
    }

    static func exercise(_ relays: RelayProcesses, _ process: Process, healthy: Receiver) async throws {
        let ids = (0..<events).map { _ in LINE.eventID() }
        for id in ids {
            let body = LINE.body([LINE.deliveryEvent(id: id)])
            let reply = try await post(relays.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: secret))])
            #expect(reply.status == 200 && reply.body.contains(#""accepted":1"#), "\(reply.body)")
        }
        // Settled: nothing pending or in flight anywhere. A job that never settles is a stalled relay, and fails here.
        var peakMiB = 0.0
        let settled = await eventually(timeout: .seconds(40), poll: .milliseconds(100)) {
            peakMiB = max(peakMiB, residentMiB(pid: process.processIdentifier) ?? 0)
            let stats = try await Self.stats(relays)
            return stats.count == Misbehaviour.allCases.count + 1
                && stats.values.allSatisfy { $0.pending == 0 && $0.inFlight == 0 && $0.delivered + $0.dead == Int64(events) }
        }
        #expect(settled, "not every job ended; log:\n\(relays.logTail())")
        #expect(process.isRunning, "relay died; log:\n\(relays.logTail())")
        #expect(await get("http://127.0.0.1:\(relays.adminPort)/healthz")?.status == 200)
        print("misbehaving: peak RSS \(peakMiB) MiB")

        // One backend must never cost other events: the healthy destination got each event exactly once.
        let stats = try await Self.stats(relays)
        #expect(stats["healthy"]?.delivered == Int64(events) && stats["healthy"]?.dead == 0)
        #expect(healthy.count == events, "healthy got \(healthy.count) requests for \(events) events")
        #expect(Set(healthy.hits.compactMap { $0.header("webhook-id") }).count == events)

        let reply = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/dead-letters?limit=10000", timeout: .seconds(5)))
        #expect(reply.status == 200)
        let letters = try #require(try JSONParser.parse(Array(reply.body.utf8)).arrayValue, "the dead-letter listing is not a JSON array")
        for behaviour in Misbehaviour.allCases {
            let mine = letters.filter { $0["destination"]?.stringValue == behaviour.rawValue }
            let errors = Dictionary(mine.map { ($0["last_error"]?.stringValue ?? "(none)", 1) }, uniquingKeysWith: +)
            let delivered = stats[behaviour.rawValue]?.delivered ?? 0
            let seen = errors.sorted { $0.key < $1.key }.map { "\($0.key.debugDescription) x\($0.value)" } + (delivered > 0 ? ["delivered x\(delivered)"] : [])
            print("misbehaving: \(behaviour.rawValue): \(seen.joined(separator: ", "))")
            if let issue = behaviour.knownIssue {
                withKnownIssue(Comment(rawValue: issue)) { check(mine, behaviour) }
            } else {
                check(mine, behaviour)
            }
        }
        try await checkBinaryBodyListings(relays)
        #expect(process.isRunning, "relay died; log:\n\(relays.logTail())")
    }

    /// Every event a dead letter after the whole schedule, with a readable error and a bounded response.
    static func check(_ letters: [JSONValue], _ behaviour: Misbehaviour) {
        #expect(letters.count == events, "\(behaviour.rawValue): \(letters.count) dead letters of \(events) events")
        #expect(Set(letters.compactMap { $0["event_id"]?.stringValue }).count == events, "\(behaviour.rawValue): an event died twice")
        for letter in letters {
            #expect(letter["attempts"]?.int64Value == Int64(attempts), "\(behaviour.rawValue): \(letter)")
            let error = letter["last_error"]?.stringValue ?? ""
            #expect(!error.isEmpty && error.utf8.count <= maxErrorBytes && isPrintable(error), "\(behaviour.rawValue): last_error \(error.debugDescription)")
            if let response = letter["last_response"]?.stringValue {
                #expect(response.utf8.count <= maxResponseBytes && isPrintable(response), "\(behaviour.rawValue): last_response \(response.debugDescription)")
            }
            if let status = letter["last_status"]?.int64Value {
                #expect(error == "HTTP \(status)", "\(behaviour.rawValue): status \(status) with error \(error)")
            }
        }
    }

    /// The binary body's bytes as relay escapes them, shown by the admin API and by `relay dlq list --json` alike.
    static func checkBinaryBodyListings(_ relays: RelayProcesses) async throws {
        let expected = #"bad\x00nul\xff\xfe\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"#
        let destination = Misbehaviour.binaryBody.rawValue
        let api = try #require(await get("http://127.0.0.1:\(relays.adminPort)/admin/dead-letters?destination=\(destination)", timeout: .seconds(5)))
        let cli = try await runRelayCommand(["dlq", "list", "--destination", destination, "--json", "--config", relays.configPath])
        #expect(cli.status == 0, "\(cli.stderr)")
        for (name, text) in [("admin API", api.body), ("relay dlq list", cli.stdout)] {
            let letters = try #require(try JSONParser.parse(Array(text.utf8)).arrayValue, "\(name): not a JSON array")
            #expect(letters.count == events, "\(name)")
            for letter in letters {
                #expect(letter["last_status"]?.int64Value == 500, "\(name)")
                #expect(letter["last_response"]?.stringValue == expected, "\(name): \(letter["last_response"]?.stringValue?.debugDescription ?? "null")")
            }
        }
    }

    /// Text without control characters but tab, line feed and carriage return (a raw NUL above all).
    static func isPrintable(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    }

    struct Counts {
        var pending: Int64, inFlight: Int64, delivered: Int64, dead: Int64
    }

    /// `/admin/stats` by destination.
    static func stats(_ relays: RelayProcesses) async throws -> [String: Counts] {
        guard let reply = await get("http://127.0.0.1:\(relays.adminPort)/admin/stats"), reply.status == 200,
              let rows = try JSONParser.parse(Array(reply.body.utf8))["destinations"]?.arrayValue else { throw TestFailure("no stats") }
        var counts: [String: Counts] = [:]
        for row in rows {
            guard let name = row["destination"]?.stringValue else { continue }
            counts[name] = Counts(pending: row["pending"]?.int64Value ?? -1, inFlight: row["in_flight"]?.int64Value ?? -1,
                                  delivered: row["delivered"]?.int64Value ?? 0, dead: row["dead"]?.int64Value ?? 0)
        }
        return counts
    }
}
}

/// What one raw backend does on every connection; the raw value names its destination.
enum Misbehaviour: String, CaseIterable, Sendable {
    case answersBeforeReading = "answers-before-reading"
    case closesMidRequestHead = "closes-mid-request-head"
    case closesWithoutAnswer = "closes-without-answer"
    case halfResponseHead = "half-response-head"
    case closesMidErrorBody = "closes-mid-error-body"
    case closesMidOKBody = "closes-mid-ok-body"
    case garbageStatusLine = "garbage-status-line"
    case endlessBody = "endless-body"
    case hugeBody = "huge-body"
    case headerFlood = "header-flood"
    case neverAnswers = "never-answers"
    case binaryBody = "binary-body"

    /// Why relay does not yet do what SPEC section 13 says for this case, if it does not.
    var knownIssue: String? { nil }

    /// NUL, invalid UTF-8 and the start of a gzip stream: bytes no text column takes as they are.
    static let binaryBytes: [UInt8] = Array("bad".utf8) + [0] + Array("nul".utf8) + [0xFF, 0xFE] + [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03]

    func serve(_ peer: RawPeer) {
        switch self {
        case .answersBeforeReading:
            peer.send("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad request")
            // Half the connections close with the request unread (a reset, if it has arrived), half read it first.
            if peer.index % 2 == 1 { peer.readRequest() }
        case .closesMidRequestHead:
            peer.read(atLeast: 16)
        case .closesWithoutAnswer:
            peer.readRequest()
        case .halfResponseHead:
            guard peer.readRequest() else { return }
            peer.send("HTTP/1.1 200 O")
        case .closesMidErrorBody, .closesMidOKBody:
            guard peer.readRequest() else { return }
            let status = self == .closesMidOKBody ? "200 OK" : "500 Internal Server Error"
            peer.send("HTTP/1.1 \(status)\r\nContent-Length: 1000\r\n\r\n0123456789")
        case .garbageStatusLine:
            guard peer.readRequest() else { return }
            if peer.index % 2 == 0 {
                peer.send("HTTQ/9 abc\r\n\r\n")
            } else {
                peer.send((0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37) })  // starts with NUL, every byte value in turn
            }
        case .endlessBody:
            guard peer.readRequest(), peer.send("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n") else { return }
            let chunk = Array("1000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "e"), count: 4096) + Array("\r\n".utf8)
            while peer.send(chunk) {}
        case .hugeBody:
            let size = 10 << 20
            guard peer.readRequest(), peer.send("HTTP/1.1 500 Internal Server Error\r\nContent-Length: \(size)\r\n\r\n") else { return }
            let piece = [UInt8](repeating: UInt8(ascii: "h"), count: 64 << 10)
            var sent = 0
            while sent < size, peer.send(piece) { sent += piece.count }
        case .headerFlood:
            guard peer.readRequest(), peer.send("HTTP/1.1 200 OK\r\n") else { return }
            if peer.index % 2 == 0 {
                // 100,000 header lines, in batches of 1,000.
                for batch in 0..<100 {
                    let lines = (0..<1_000).map { "X-Flood-\(batch * 1_000 + $0): y\r\n" }.joined()
                    guard peer.send(lines) else { return }
                }
            } else {
                guard peer.send("X-Flood: " + String(repeating: "a", count: 1 << 20) + "\r\n") else { return }
            }
            peer.send("Content-Length: 0\r\n\r\n")
        case .neverAnswers:
            peer.readRequest()
            peer.holdUntilClientCloses()
        case .binaryBody:
            guard peer.readRequest() else { return }
            let body = Self.binaryBytes
            peer.send(Array("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/octet-stream\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body)
        }
    }
}
