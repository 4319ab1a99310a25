import Foundation
import RelayCore
import RelayStore
import Synchronization

/// The built `relay` executable run as real child processes on one config and store, so they can be killed.
final class RelayProcesses: Sendable {
    let directory: TempDirectory
    let configPath: String
    let listenPort: Int
    let adminPort: Int
    /// The `store:` mapping's entries (after the first, indented two spaces).
    let storeYAML: String
    private let launched = Mutex<[Process]>([])

    /// `.build/debug/relay` of this repository.
    /// `RELAY_TEST_EXECUTABLE` names another build (e.g. an older commit's, to see a test fail without its fix).
    static func executable(file: String = #filePath) throws -> String {
        if let other = ProcessInfo.processInfo.environment["RELAY_TEST_EXECUTABLE"] { return other }
        let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent(".build/debug/relay").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("\(path) is missing: build the relay executable first (`swift build`)")
        }
        return path
    }

    /// Runs `body` with processes on `yaml` and `store` (and `store.lease`), killed and removed afterwards (their log
    /// shown on failure).
    static func with(_ yaml: String, store: String? = nil, lease: String? = nil, _ body: (RelayProcesses) async throws -> Void) async throws {
        let relays = try RelayProcesses(yamlBody: yaml, store: store, lease: lease)
        do {
            try await body(relays)
            await relays.cleanUp()
        } catch {
            print("relay log:\n\(relays.logTail(60))")
            await relays.cleanUp()
            throw error
        }
    }

    /// Writes routes.yaml (given everything but listeners and store) into a fresh temp dir. `store` replaces the
    /// SQLite file in the temp dir (e.g. `postgres: <url>`); `lease` sets `store.lease`.
    init(yamlBody: String, store: String? = nil, lease: String? = nil) throws {
        directory = try TempDirectory()
        listenPort = try freePort()
        adminPort = try freePort()
        configPath = directory.file("routes.yaml")
        storeYAML = (store ?? "sqlite: \(directory.file("data/relay.db"))") + (lease.map { "\n  lease: \($0)" } ?? "")
        try writeConfig(yamlBody)
    }

    /// (Re)writes routes.yaml: these listeners and store, then `yamlBody` (or, raw, exactly `text`). The ports are
    /// the first instance's; another instance gets its own from `RELAY_TEST_LISTEN_PORT` and `RELAY_TEST_ADMIN_PORT`.
    func writeConfig(_ yamlBody: String, raw text: String? = nil) throws {
        let yaml = text ?? """
            listen: 127.0.0.1:${RELAY_TEST_LISTEN_PORT:-\(listenPort)}
            admin:
              listen: 127.0.0.1:${RELAY_TEST_ADMIN_PORT:-\(adminPort)}
              token: ${RELAY_ADMIN_TOKEN:-}
            store:
              \(storeYAML)

            """ + yamlBody
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var storePath: String { directory.file("data/relay.db") }
    var logPath: String { directory.file("relay.log") }
    func webhookURL(_ source: String) -> String { "http://127.0.0.1:\(listenPort)/webhooks/\(source)" }

    /// Starts `relay serve --config <file>` and waits until it answers /healthz.
    /// With `nofile`, it runs under that open-file limit (soft and hard, as `ulimit -n` sets them).
    /// With `ports`, it listens there (a second instance on the same config) instead of on the first instance's.
    func start(logLevel: String = "notice", environment extra: [String: String] = [:], nofile: Int? = nil, ports: Ports? = nil) async throws -> Process {
        let process = Process()
        if let nofile {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(nofile) && exec \"$0\" serve --config \"$1\"", try Self.executable(), configPath]
        } else {
            process.executableURL = URL(fileURLWithPath: try Self.executable())
            process.arguments = ["serve", "--config", configPath]
        }
        // Tracing only where a test asks for it (`environment`), whatever the test runner's own variables say.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OTEL_") }
        environment["RELAY_LOG_LEVEL"] = logLevel
        if let ports {
            environment["RELAY_TEST_LISTEN_PORT"] = String(ports.listen)
            environment["RELAY_TEST_ADMIN_PORT"] = String(ports.admin)
        }
        environment.merge(extra) { $1 }
        process.environment = environment
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        launched.withLock { $0.append(process) }
        let healthy = await eventually(timeout: .seconds(15), poll: .milliseconds(50)) {
            await get("http://127.0.0.1:\(ports?.listen ?? self.listenPort)/healthz", timeout: .milliseconds(500))?.status == 200
        }
        guard healthy, process.isRunning else {
            throw TestFailure("relay did not become healthy; log:\n\(logTail())")
        }
        return process
    }

    /// Another instance's listeners.
    struct Ports: Sendable {
        var listen: Int
        var admin: Int

        static func free() throws -> Ports { Ports(listen: try freePort(), admin: try freePort()) }
        func webhookURL(_ source: String) -> String { "http://127.0.0.1:\(listen)/webhooks/\(source)" }
    }

    /// The first instance's listeners.
    var ports: Ports { Ports(listen: listenPort, admin: adminPort) }

    /// Waits for `process` to exit; nil when it is still running after `timeout`.
    func waitForExit(_ process: Process, timeout: Duration) async -> (reason: Process.TerminationReason, status: Int32)? {
        guard await eventually(timeout: timeout, poll: .milliseconds(20), { !process.isRunning }) else { return nil }
        return (process.terminationReason, process.terminationStatus)
    }

    /// The store's figures, read by this process while no relay runs.
    func storeStats() async throws -> StoreStats {
        try await SQLiteStore(path: storePath).serving { store async throws in
            try await store.stats(nowMilliseconds: Timestamp.nowMilliseconds())
        }
    }

    func logTail(_ lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// SIGKILLs every process this harness started that still runs (by its own pid), and removes the temp dir.
    func cleanUp() async {
        for process in launched.withLock({ $0 }) where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = await waitForExit(process, timeout: .seconds(5))
        }
        directory.remove()
    }
}

/// A stream of distinct signed LINE events from a few concurrent senders, stopped by `stop()`.
final class LINETraffic: Sendable {
    private struct State {
        var next = 0
        var sent = 0
        var acked: [String] = []
        var replies: [TrafficReply] = []
        var stopped = false
    }

    private let state = Mutex(State())
    let ids: [String]

    init(count: Int) { ids = (0..<count).map { _ in LINE.eventID() } }

    var acked: [String] { state.withLock { $0.acked } }
    /// Every request's answer, in the order they came back.
    var replies: [TrafficReply] { state.withLock { $0.replies } }
    var sent: Int { state.withLock { $0.sent } }
    func stop() { state.withLock { $0.stopped = true } }

    /// Sends until all ids are sent or `stop()`; `afterAck` sees the number acked so far after each 200. With several
    /// `urls` (instances), event i goes to `urls[i % count]`.
    func run(url: String, secret: String, senders: Int, afterAck: @escaping @Sendable (Int) -> Void) async {
        await run(urls: [url], secret: secret, senders: senders, afterAck: afterAck)
    }

    func run(urls: [String], secret: String, senders: Int, pause: Duration = .zero, afterAck: @escaping @Sendable (Int) -> Void = { _ in }) async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<senders {
                group.addTask {
                    while let index = self.take() {
                        let body = LINE.body([LINE.deliveryEvent(id: self.ids[index], data: "tag-" + self.ids[index])])
                        let url = urls[index % urls.count]
                        let reply = try? await post(url, body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: secret))], timeout: .seconds(8))
                        self.state.withLock { $0.replies.append(TrafficReply(at: .now, url: url, status: reply?.status, id: self.ids[index])) }
                        if pause > .zero { try? await Task.sleep(for: pause) }
                        guard reply?.status == 200 else { continue }
                        let acked = self.state.withLock { s in
                            s.acked.append(self.ids[index])
                            return s.acked.count
                        }
                        afterAck(acked)
                    }
                }
            }
        }
    }

    private func take() -> Int? {
        state.withLock { s in
            guard !s.stopped, s.next < ids.count else { return nil }
            defer { s.next += 1 }
            s.sent += 1
            return s.next
        }
    }
}

/// One traffic request's answer: its status, or nil for none (refused, reset, timed out).
struct TrafficReply: Sendable {
    var at: ContinuousClock.Instant
    var url: String
    var status: Int?
    var id: String
}

/// What a finished `relay` command printed, and how it ended.
struct CLIResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `relay <arguments>` to completion (bounded by `timeout`), capturing its output in temp files.
func runRelayCommand(_ arguments: [String], timeout: Duration = .seconds(20)) async throws -> CLIResult {
    let directory = try TempDirectory()
    defer { directory.remove() }
    let out = directory.file("stdout"), err = directory.file("stderr")
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try RelayProcesses.executable())
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    try process.run()
    guard await eventually(timeout: timeout, poll: .milliseconds(10), { !process.isRunning }) else {
        kill(process.processIdentifier, SIGKILL)
        throw TestFailure("relay \(arguments.joined(separator: " ")) did not finish in \(timeout)")
    }
    return CLIResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
}
