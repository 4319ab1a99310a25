import Foundation
import RelayCore
import Testing

/// A real `relay serve` process against what an attacker on the network can send (SPEC section 13, issue 18):
/// slow bodies, floods of connections, broken framing, odd methods, long ids, numbers at the edge.
extension DeliveryEngine {
/// Nested in the serialized engine suites: these tests hold sockets with blocking calls and load the machine, so
/// they must not share the two cores with the timing tests (a relay start beside the 1,100-connection flood took
/// over 15 s once).
@Suite("Hostile clients", .serialized)
struct HostileClientTests {
    static let secret = "hostile-client-test-secret"

    /// The base64 of 32 bytes: shaped like a signature, so it is read before it is found wrong.
    static let wellFormedSignature = String(repeating: "A", count: 43) + "="

    static func yaml(limits: String = "") -> String {
        """
        limits:
          max_body: 1MiB
        \(limits)
        sources:
          line:
            provider: line
            channel_secret: \(secret)

        """
    }

    /// Runs `body` with a started relay, cleaning up after.
    static func withRelay(limits: String = "", nofile: Int? = nil, _ body: (RelayProcesses, Process) async throws -> Void) async throws {
        let relay = try RelayProcesses(yamlBody: yaml(limits: limits))
        do {
            let process = try await relay.start(nofile: nofile)
            try await body(relay, process)
        } catch {
            await relay.cleanUp()
            throw error
        }
        await relay.cleanUp()
    }

    /// A signed single-event LINE post; its status and how long the answer took, in ms.
    static func signedPost(_ relay: RelayProcesses) async throws -> (status: Int, ms: Double) {
        let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
        let started = ContinuousClock.now
        let reply = try await post(relay.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: secret))],
                                   timeout: .seconds(5))
        return (reply.status, milliseconds(from: started, to: .now))
    }

    static func head(_ headers: [String]) -> String { head("POST", path: "/webhooks/line", headers) }

    static func head(_ method: String, path: String, _ headers: [String] = []) -> String {
        ([ "\(method) \(path) HTTP/1.1", "Host: 127.0.0.1" ] + headers).joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// 600 connections announce 1 MiB, send 4 KiB and then a byte a second (a bad signature, were it ever read):
    /// before, none was ever cut off and RSS went from 110 MB to 891 MB.
    @Test func slowBodiesAreCutOffWithinTheBodyTimeoutAndHoldLittleMemory() async throws {
        try await Self.withRelay(limits: "  body_timeout: 3s\n  read_timeout: 10s") { relay, process in
            for _ in 0..<20 { _ = try await Self.signedPost(relay) }  // warm: pools and caches as in service
            let baseline = try #require(residentMiB(pid: process.processIdentifier))
            let prefix = Array(Self.head(["X-Line-Signature: \(Self.wellFormedSignature)", "Content-Type: application/json", "Content-Length: 1048576"]).utf8)
                + [UInt8](repeating: UInt8(ascii: " "), count: 4096)
            var open: [RawConnection] = []
            for _ in 0..<600 {
                let connection = try RawConnection(port: relay.listenPort)
                _ = connection.sendAvailable(prefix)
                open.append(connection)
            }
            var closedAfter: [Double] = []
            var peak = baseline, slowest = 0.0
            var readyAnswered = true
            let deadline = ContinuousClock.now + .seconds(12)
            while !open.isEmpty, ContinuousClock.now < deadline {
                let (status, ms) = try await Self.signedPost(relay)
                #expect(status == 200)
                slowest = max(slowest, ms)
                let ready = await get("http://127.0.0.1:\(relay.adminPort)/readyz")
                readyAnswered = readyAnswered && ready?.status == 200
                peak = max(peak, residentMiB(pid: process.processIdentifier) ?? 0)
                open.removeAll { connection in
                    guard connection.isClosedByPeer || !connection.send(" ") else { return false }
                    closedAfter.append(milliseconds(from: connection.openedAt, to: .now))
                    return true
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(open.isEmpty, "\(open.count) of 600 slow connections were still open after 12 s")
            // Seen at the first check after the close: body_timeout plus one round of this loop (a few hundred ms; more on a
            // loaded machine). Without the total timeout none closes within the 12 s at all.
            #expect((closedAfter.max() ?? .infinity) < 3_000 + 3_000, "slowest close \(closedAfter.max() ?? 0) ms with body_timeout 3s")
            #expect((closedAfter.min() ?? 0) >= 2_900, "closed before body_timeout: \(closedAfter.min() ?? 0) ms")
            #expect(peak < 256, "peak RSS \(peak) MiB (baseline \(baseline) MiB)")
            // The target (under 100 ms) is a figure for the benchmark machine, printed here; the test holds the
            // request to "answered, not stalled" so a loaded CI machine cannot make it flaky.
            print("hostile: 600 slow bodies: slowest signed request \(slowest) ms, peak RSS \(peak) MiB (baseline \(baseline)), slowest close \(closedAfter.max() ?? 0) ms")
            #expect(slowest < 1_000, "slowest signed request \(slowest) ms")
            #expect(readyAnswered)
            #expect(await eventually(timeout: .seconds(5)) { (residentMiB(pid: process.processIdentifier) ?? .infinity) < baseline + 50 })
        }
    }

    /// 3,000 connections each announce 1 MiB, send 900 KiB as fast as the socket takes it, then a byte a second (a
    /// well-formed signature that is never valid). Before, bytes waiting below the handler were never counted: RSS went
    /// from 44 to 1,041 MiB with a 64 MiB `max_buffered`, and stayed at 268-621 MiB after all closed (issue 23). Target:
    /// a peak of at most `max_buffered` + 150 MiB, and back within 50 MiB of the baseline once they close.
    @Test func aFloodOfLargeSlowBodiesStaysWithinMaxBuffered() async throws {
        try await Self.withRelay(limits: "  max_buffered: 64MiB\n  body_timeout: 5s\n  read_timeout: 10s", nofile: 20_000) { relay, process in
            for _ in 0..<20 { _ = try await Self.signedPost(relay) }
            let baseline = try #require(residentMiB(pid: process.processIdentifier))
            let head = Array(Self.head(["X-Line-Signature: \(Self.wellFormedSignature)", "Content-Type: application/json", "Content-Length: 1048576"]).utf8)
            let body = [UInt8](repeating: UInt8(ascii: " "), count: 900 << 10)
            var open: [(connection: RawConnection, sent: Int)] = []
            var peak = baseline
            for index in 0..<3_000 {
                let connection = try RawConnection(port: relay.listenPort, connectTimeout: .milliseconds(50))
                _ = connection.sendAvailable(head)
                open.append((connection, connection.sendAvailable(body)))
                if index % 100 == 0 { peak = max(peak, residentMiB(pid: process.processIdentifier) ?? 0) }
            }
            // Keep pushing the rest of each 900 KiB, then a byte a second, until relay has closed them all (body_timeout).
            let deadline = ContinuousClock.now + .seconds(40)
            var lastTrickle = ContinuousClock.now
            var refusedOrClosed = 0
            while !open.isEmpty, ContinuousClock.now < deadline {
                let trickle = ContinuousClock.now - lastTrickle > .seconds(1)
                if trickle { lastTrickle = .now }
                for index in open.indices {
                    let (connection, sent) = open[index]
                    if sent < body.count {
                        open[index].sent += connection.sendAvailable(Array(body[sent...]))
                    } else if trickle {
                        _ = connection.sendAvailable([UInt8(ascii: " ")])
                    }
                }
                open.removeAll { item in
                    guard item.connection.isClosedByPeer else { return false }
                    refusedOrClosed += 1
                    return true
                }
                peak = max(peak, residentMiB(pid: process.processIdentifier) ?? 0)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(open.isEmpty, "\(open.count) of 3,000 connections still open after 40 s")
            open.removeAll()
            let settled = await eventually(timeout: .seconds(15)) { (residentMiB(pid: process.processIdentifier) ?? .infinity) < baseline + 50 }
            let after = residentMiB(pid: process.processIdentifier) ?? 0
            print("hostile: 3,000 slow 900 KiB bodies: RSS baseline \(baseline) MiB, peak \(peak) MiB (max_buffered 64 MiB), after \(after) MiB; \(refusedOrClosed) closed by relay")
            #expect(peak <= 64 + 150, "peak RSS \(peak) MiB")
            #expect(settled, "RSS \(after) MiB after the flood (baseline \(baseline) MiB)")
            #expect(try await Self.signedPost(relay).status == 200)
        }
    }

    /// Body bytes are counted from the parser until their request is answered, also on a kept-alive connection whose
    /// requests are answered before their bodies are read (404s): nothing stays counted once they are answered.
    @Test func bytesOfRequestsAnsweredEarlyAreGivenBack() async throws {
        try await Self.withRelay { relay, _ in
            let connection = try RawConnection(port: relay.listenPort)
            let body = String(repeating: "x", count: 10_000)
            for _ in 0..<20 {
                connection.send(Self.head("POST", path: "/webhooks/nosuch", ["Content-Length: \(body.count)"]) + body)
                let reply = connection.receive(timeout: .seconds(2), until: "}")
                #expect(reply.hasPrefix("HTTP/1.1 404"), "\(reply.prefix(60))")
            }
            let signed = try await Self.signedPost(relay)
            #expect(signed.status == 200)
            #expect(!connection.isClosedByPeer)
            #expect(await eventually(timeout: .seconds(3)) {
                (await get("http://127.0.0.1:\(relay.adminPort)/metrics"))?.body.contains("relay_ingest_buffered_bytes 0") == true
            })
        }
    }

    /// Bodies held at once are capped: past `max_buffered` a request is refused (503, the provider retries) before its
    /// body is read, and the room is back once the holder is gone.
    @Test func bodiesPastMaxBufferedAreRefusedBeforeTheyAreRead() async throws {
        try await Self.withRelay(limits: "  max_buffered: 1MiB\n  body_timeout: 2s") { relay, _ in
            let holder = try RawConnection(port: relay.listenPort)
            holder.send(Self.head(["X-Line-Signature: \(Self.wellFormedSignature)", "Content-Length: 1048576"]) + String(repeating: " ", count: 1_048_575))
            // One byte short: the relay holds all but one byte of max_buffered for this body until body_timeout, and
            // no other body fits beside it.
            #expect(await eventually(timeout: .seconds(3)) {
                (await get("http://127.0.0.1:\(relay.adminPort)/metrics"))?.body.contains("relay_ingest_buffered_bytes 1048575") == true
            })
            let refused = try await Self.signedPost(relay)
            #expect(refused.status == 503)
            #expect(refused.ms < 500)
            #expect(holder.closedByPeer(within: .seconds(4)))
            #expect(await eventually(timeout: .seconds(2)) { try await Self.signedPost(relay).status == 200 })
        }
    }

    /// With `nofile` at 1024, 1,100 ingest connections used to take every descriptor: `/readyz` and `/metrics`
    /// timed out. Ingest now stops accepting short of the limit, leaving the admin listener its room.
    @Test func aFloodOfIngestConnectionsLeavesTheAdminListenerRoom() async throws {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_max >= 2048, "this test opens 1,100 connections itself")
        limit.rlim_cur = limit.rlim_max
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        try await Self.withRelay(nofile: 1024) { relay, _ in
            var flood: [RawConnection] = []
            for _ in 0..<1_100 { flood.append(try RawConnection(port: relay.listenPort, connectTimeout: .milliseconds(5))) }
            for path in ["/readyz", "/healthz", "/metrics"] {
                let reply = await get("http://127.0.0.1:\(relay.adminPort)\(path)", timeout: .seconds(2))
                #expect(reply?.status == 200, "\(path) with 1,100 ingest connections open")
            }
            #expect(relay.logTail(200).contains("ingest connections capped below limits.max_connections"))
            flood.removeAll()
            #expect(await eventually(timeout: .seconds(10)) { try await Self.signedPost(relay).status == 200 })
        }
    }

    /// A credential that could never verify (missing, not a signature's shape) is refused before a byte of the body
    /// is read: such a request holds no memory and no budget while it trickles.
    @Test func aHopelessCredentialIsRefusedBeforeTheBody() async throws {
        try await Self.withRelay { relay, _ in
            for signature in [nil, "AAAA", "not base64!"] {
                let connection = try RawConnection(port: relay.listenPort)
                connection.send(Self.head(["Content-Length: 1048576"] + (signature.map { ["X-Line-Signature: \($0)"] } ?? [])))
                let reply = connection.receive(timeout: .milliseconds(500), until: "}")
                #expect(reply.hasPrefix("HTTP/1.1 401"), "\(signature ?? "no signature"): \(reply.prefix(60))")
                #expect(reply.contains("invalid_signature"))
            }
        }
    }

    @Test func everyMethodButPOSTGets405WithAllow() async throws {
        try await Self.withRelay { relay, _ in
            for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"] {
                for path in ["/webhooks/line", "/webhooks/unknown"] {
                    let connection = try RawConnection(port: relay.listenPort)
                    connection.send(Self.head(method, path: path, ["Content-Length: 0"]))
                    let reply = connection.receive(timeout: .seconds(2), until: "\r\n\r\n")
                    #expect(reply.hasPrefix("HTTP/1.1 405"), "\(method) \(path): \(reply.prefix(40))")
                    #expect(reply.lowercased().contains("allow: post"), "\(method) \(path)")
                }
            }
        }
    }

    /// `Expect: 100-continue` used to go unanswered (curl stalled a second); over `max_body` it is 413 at once.
    @Test func expectContinueIsAnswered() async throws {
        try await Self.withRelay { relay, _ in
            let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
            let connection = try RawConnection(port: relay.listenPort)
            connection.send(Self.head(["Expect: 100-continue", "Content-Length: \(body.count)", "Content-Type: application/json",
                                       "X-Line-Signature: \(LINE.signature(body, secret: Self.secret))"]))
            let interim = connection.receive(timeout: .milliseconds(500), until: "\r\n\r\n")
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "\(interim)")
            connection.send(body)
            let final = connection.receive(timeout: .seconds(2), until: "duplicates")
            #expect(final.hasPrefix("HTTP/1.1 200"), "\(final)")

            let large = try RawConnection(port: relay.listenPort)
            large.send(Self.head(["Expect: 100-continue", "Content-Length: 2097152", "X-Line-Signature: \(Self.wellFormedSignature)"]))
            let refused = large.receive(timeout: .milliseconds(500), until: "}")
            #expect(refused.hasPrefix("HTTP/1.1 413"), "\(refused)")
            #expect(!refused.contains("100 Continue"))
        }
    }

    /// An ~80 KiB source id used to be logged and answered whole.
    @Test func longSourceIDsAreNotEchoed() async throws {
        try await Self.withRelay { relay, _ in
            let id = String(repeating: "x", count: 60_000)
            let reply = try await post(relay.webhookURL(id), body: Array("{}".utf8))
            #expect(reply.status == 404)
            #expect(reply.body.contains("unknown_source"))
            #expect(reply.body.count < 300, "\(reply.body.count) bytes")
            let short = try await post(relay.webhookURL("nope"), body: Array("{}".utf8))
            #expect(short.body.contains("nope"), "a valid id is still named")
            #expect(await eventually { relay.logTail(20).contains("60000 bytes") })
            #expect(!relay.logTail(50).contains(String(repeating: "x", count: 100)))
        }
    }

    /// Framing errors get the JSON 400 of every other refusal, in plain words; before, an empty 400 or the parser's text.
    @Test func framingErrorsGetAPlainJSON400() async throws {
        try await Self.withRelay { relay, _ in
            let garbage = try RawConnection(port: relay.listenPort)
            garbage.send("THIS IS NOT HTTP\r\n\r\n")
            let first = garbage.receive(timeout: .seconds(2), until: "}")
            #expect(first.hasPrefix("HTTP/1.1 400"), "\(first)")
            #expect(first.contains(#""error":"invalid_request""#), "\(first)")

            let chunked = try RawConnection(port: relay.listenPort)
            chunked.send(Self.head(["Transfer-Encoding: chunked", "X-Line-Signature: \(Self.wellFormedSignature)"]) + "zz\r\nnot a chunk\r\n")
            let second = chunked.receive(timeout: .seconds(2), until: "}")
            #expect(second.hasPrefix("HTTP/1.1 400"), "\(second)")
            #expect(second.contains(#""error":"invalid_payload""#), "\(second)")
            #expect(!second.contains("HTTPParserError") && !second.contains("invalidChunkSize"), "\(second)")
            #expect(try await Self.signedPost(relay).status == 200, "the process serves on")
        }
    }

    /// The body that used to end the process (SIGILL in Timestamp.format), and one that repeats a member name.
    @Test func signedBodiesAtTheEdgeAre400AndTheProcessLives() async throws {
        try await Self.withRelay { relay, process in
            for event in [
                LINE.deliveryEvent(id: LINE.eventID(), timestamp: Int64.min),
                LINE.deliveryEvent(id: LINE.eventID(), timestamp: Int64.max),
                #"{"type":"follow","webhookEventId":"01A","webhookEventId":"01B","timestamp":1650590038721}"#,
            ] {
                let body = LINE.body([event])
                let reply = try await post(relay.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: Self.secret))])
                #expect(reply.status == 400, "\(reply.body)")
                #expect(reply.body.contains("invalid_payload"))
            }
            #expect(process.isRunning)
            #expect(try await Self.signedPost(relay).status == 200)
        }
    }

    /// The repository's development secrets are public: never served beyond loopback unless asked for.
    @Test func developmentSecretsAreRefusedOffLoopback() async throws {
        let directory = try TempDirectory()
        defer { directory.remove() }
        let config = directory.file("routes.yaml")
        try """
            listen: 0.0.0.0:\(try freePort())
            store:
              sqlite: \(directory.file("relay.db"))
            sources:
              line:
                provider: line
                channel_secret: ${RELAY_TEST_UNSET_SECRET:-dev-secret}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try await runRelayCommand(["serve", "--config", config])
        #expect(result.status == 1)
        #expect(result.stderr.contains("RELAY_TEST_UNSET_SECRET"), "\(result.stderr)")
        #expect(result.stderr.contains("--allow-development-secrets"))
        #expect(result.stderr.split(separator: "\n").count == 1, "one readable line: \(result.stderr)")
    }

    /// Kept as it was (issue 18): `/readyz` turns 503 when the store can take no write, and 200 again when it can.
    /// A real full disk: a 4 MiB tmpfs, filled, under the store.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs to fill needs root"))
    func readyzIs503WhileTheDiskIsFull() async throws {
        let relay = try RelayProcesses(yamlBody: Self.yaml())
        let disk = relay.directory.file("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try #require(shell("mount -t tmpfs -o size=4m tmpfs \(disk)") == 0)
        try relay.writeConfig("", raw: """
            listen: 127.0.0.1:\(relay.listenPort)
            admin:
              listen: 127.0.0.1:\(relay.adminPort)
            store:
              sqlite: \(disk)/relay.db

            """ + Self.yaml())
        do {
            _ = try await relay.start()
            let filler = open("\(disk)/filler", O_WRONLY | O_CREAT, 0o600)
            let chunk = [UInt8](repeating: 0, count: 65_536)
            while chunk.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
            close(filler)
            // Events of 2 KB until the WAL can take no more: ingest answers 503, nothing is acknowledged falsely.
            var refused = false
            for _ in 0..<2_000 where !refused {
                let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID()).replacingOccurrences(of: "\"mode\"", with: "\"pad\":\"\(String(repeating: "p", count: 2_000))\",\"mode\"")])
                refused = try await post(relay.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: Self.secret))]).status == 503
            }
            #expect(refused)
            #expect(await eventually(timeout: .seconds(3)) { await get("http://127.0.0.1:\(relay.adminPort)/readyz")?.status == 503 })
            unlink("\(disk)/filler")
            #expect(await eventually(timeout: .seconds(5)) { await get("http://127.0.0.1:\(relay.adminPort)/readyz")?.status == 200 })
            #expect(try await Self.signedPost(relay).status == 200)
        } catch {
            _ = shell("umount -l \(disk)")
            await relay.cleanUp()
            throw error
        }
        _ = shell("umount -l \(disk)")
        await relay.cleanUp()
    }

    /// Runs `command` with /bin/sh; its exit status.
    func shell(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
}
