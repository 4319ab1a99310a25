import Foundation

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
    }

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
                let server = Server(binaries: binaries, directory: directory, port: port)
                ServerAtExit.register(server)
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestPostgresError("cannot start PostgreSQL")
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
    static func run(path: String, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw TestPostgresError("\((path as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed: \(text)")
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
    nonisolated(unsafe) static var command: [String] = []
    nonisolated(unsafe) static var directory = ""

    static func register(_ server: TestPostgres.Server) {
        let (executable, arguments) = server.binaries.command("pg_ctl", ["stop", "-m", "immediate", "-w", "-D", "\(server.directory)/data"])
        command = [executable] + arguments
        directory = server.directory
        atexit {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ServerAtExit.command[0])
            process.arguments = Array(ServerAtExit.command.dropFirst())
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            if (try? process.run()) != nil { process.waitUntilExit() }
            try? FileManager.default.removeItem(atPath: ServerAtExit.directory)
        }
    }
}
