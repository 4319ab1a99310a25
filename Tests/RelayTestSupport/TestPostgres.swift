import Foundation
import Synchronization

/// A real PostgreSQL server for the tests of this process: `initdb` and `pg_ctl start` in a temporary folder on a
/// free 127.0.0.1 port, started by the first test that asks and stopped when the process exits. Each test gets its
/// own database on it (`CREATE DATABASE`), so tests running in parallel never see each other's rows.
///
/// Tests that use it carry `.enabled(if: OptionalTool.postgres.isAvailable, ...)`: without PostgreSQL they are skipped
/// with the reason, and `.ci/run` (which installs it) fails on the skip.
public actor TestPostgres {
    /// The server every test in this process shares.
    public static let shared = TestPostgres()

    struct Server: Sendable {
        var binaries: PostgresBinaries
        var directory: String
        var port: Int
        var options: String
    }

    /// A server of its own (for a test that stops and starts it: an outage); stopped at exit like the shared one.
    public init() {}

    private var starting: Task<Server, any Error>?
    private var databases = 0

    /// A new, empty database on the shared server (starting it on first use), as a `postgres://` URL.
    public func makeDatabase() async throws -> String {
        let server = try await server()
        databases += 1
        let name = "relay_test_\(getpid())_\(databases)"
        try await Self.run(server.binaries, "createdb", ["-h", "127.0.0.1", "-p", "\(server.port)", "-U", "postgres", name])
        return "postgres://postgres@127.0.0.1:\(server.port)/\(name)"
    }

    private func server() async throws -> Server {
        if let starting { return try await starting.value }
        let task = Task { try await Self.start() }
        starting = task
        return try await task.value
    }

    private static func start() async throws -> Server {
        guard let binaries = PostgresBinaries.find() else { throw TestPostgresError(OptionalTool.postgres.skipReason) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-pg-\(UUID().uuidString)").path
        let data = "\(directory)/data"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let runAs = binaries.runAs {
            // The server runs as `postgres`: it must own its folder (the log and the socket go there too).
            try await run(path: "/bin/chown", [runAs.user, directory])
        }
        try await run(binaries, "initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
        // A port found free can be taken before the server binds it: try a few.
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = try freePort()
            let options = "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(directory)"
                + " -c fsync=on -c synchronous_commit=on -c max_connections=400"
            do {
                try await run(binaries, "pg_ctl", ["start", "-w", "-t", "60", "-D", data, "-l", "\(directory)/server.log", "-o", options])
                let server = Server(binaries: binaries, directory: directory, port: port, options: options)
                ServerAtExit.register(server)
                try ServerAtExit.watch(server)
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestPostgresError("cannot start PostgreSQL")
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: connections are cut, as when the database host fails).
    public func stop() async throws {
        let server = try await server()
        try await Self.run(server.binaries, "pg_ctl", ["stop", "-m", "immediate", "-w", "-D", "\(server.directory)/data"])
    }

    /// Starts the server again after `stop()`, on the same port and data.
    public func restart() async throws {
        let server = try await server()
        try await Self.run(server.binaries, "pg_ctl", [
            "start", "-w", "-t", "60", "-D", "\(server.directory)/data", "-l", "\(server.directory)/server.log", "-o", server.options,
        ])
    }

    /// A port nothing listens on now: the kernel picks one for a socket bound to port 0.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestPostgresError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestPostgresError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func run(_ binaries: PostgresBinaries, _ program: String, _ arguments: [String]) async throws {
        let (executable, arguments) = binaries.command(program, arguments)
        try await run(path: executable, arguments)
    }

    /// Runs a program to its end; its output is kept for the error when it fails.
    ///
    /// `posix_spawn` and `waitpid`, not `Process`: the server `pg_ctl` starts inherits the descriptors `Process` uses
    /// to learn that its child ended, so `Process` never reports the end of `pg_ctl start` while the server runs. The
    /// output goes to a file, not a pipe, for the same reason.
    static func run(path: String, _ arguments: [String]) async throws {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("relay-pg-out-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestPostgresError("cannot run \(path): error \(spawned)") }
        // Polled, so no thread of the shared pool blocks in waitpid (initdb takes a second or two).
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let exited = status & 0x7f == 0
        guard exited && (status >> 8) & 0xff == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw TestPostgresError("\((path as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
    }
}

/// Why the test server could not be started or used.
public struct TestPostgresError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Stops the server when the test process exits (normally or by `exit()`), so none is left running.
enum ServerAtExit {
    struct Registered: Sendable {
        var command: [String]
        var directory: String
    }

    static let servers = Mutex<(list: [Registered], handlerInstalled: Bool)>(([], false))

    /// A test process killed (a timeout, `kill -9`) runs no exit handler: a small shell that outlives it stops the
    /// server once the process is gone, so no server is left behind either way.
    static func watch(_ server: TestPostgres.Server) throws {
        let (executable, arguments) = server.binaries.command("pg_ctl", ["stop", "-m", "immediate", "-D", "\(server.directory)/data"])
        let stop = ([executable] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/bin/sh")
        watcher.arguments = ["-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop); rm -rf '\(server.directory)'"]
        watcher.standardInput = FileHandle.nullDevice
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        try watcher.run()
    }

    /// Each server started is stopped once at exit.
    static func register(_ server: TestPostgres.Server) {
        let (executable, arguments) = server.binaries.command("pg_ctl", ["stop", "-m", "immediate", "-w", "-D", "\(server.directory)/data"])
        let install = servers.withLock { state -> Bool in
            state.list.append(Registered(command: [executable] + arguments, directory: server.directory))
            defer { state.handlerInstalled = true }
            return !state.handlerInstalled
        }
        guard install else { return }
        atexit {
            for server in ServerAtExit.servers.withLock({ $0.list }) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: server.command[0])
                process.arguments = Array(server.command.dropFirst())
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                if (try? process.run()) != nil { process.waitUntilExit() }
                try? FileManager.default.removeItem(atPath: server.directory)
            }
        }
    }
}
