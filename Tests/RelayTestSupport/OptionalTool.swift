import Foundation

/// A program some tests need that a machine with only Swift may lack. Such a test runs when the tool is there
/// and is skipped, with `skipReason`, when it is not: `.enabled(if: OptionalTool.promtool.isAvailable, ...)`.
/// `.ci/run` installs every tool and fails when any test was skipped.
public struct OptionalTool: Sendable {
    /// What the tool is, e.g. `promtool`.
    public let name: String
    /// How to get it on Debian, for the skip message.
    public let install: String
    /// Whether it can be run here (probed once per test process).
    public let isAvailable: Bool

    /// Why a test that needs this tool was skipped.
    public var skipReason: String { "\(name) is not installed (\(install))" }

    /// An executable found on `PATH`.
    init(executable: String, install: String) {
        name = executable
        self.install = install
        isAvailable = Self.onPath(executable) != nil
    }

    /// A Python module `python3` can import.
    init(pythonModule: String, install: String) {
        name = "Python \(pythonModule)"
        self.install = install
        isAvailable = Self.onPath("python3") != nil && Self.succeeds("python3", ["-c", "import \(pythonModule)"])
    }

    /// Python's `jsonschema`, the independent validator of the canonical event schema.
    public static let pythonJSONSchema = OptionalTool(pythonModule: "jsonschema", install: "python3 -m pip install jsonschema")
    /// Python's `standardwebhooks`, the Standard Webhooks project's own verifier, checking relay's signatures independently.
    public static let pythonStandardWebhooks = OptionalTool(pythonModule: "standardwebhooks", install: "python3 -m pip install standardwebhooks")
    /// Headless Chromium and its WebDriver (`chromedriver`), which drive the console like an operator.
    public static let chromium = OptionalTool(
        name: "chromium and chromedriver", install: "apt-get install chromium chromium-driver",
        isAvailable: onPath("chromedriver") != nil && (onPath("chromium") != nil || onPath("chromium-browser") != nil))
    /// Prometheus's `promtool`, which lints the `/metrics` text.
    public static let promtool = OptionalTool(executable: "promtool", install: "apt-get install prometheus")

    /// PostgreSQL's server binaries (`initdb`, `pg_ctl`, `createdb`), which `TestPostgres` runs; as root it also needs
    /// the `postgres` user (PostgreSQL refuses to run as root) and `runuser`.
    public static let postgres = OptionalTool(
        name: "PostgreSQL (initdb, pg_ctl)", install: "apt-get install postgresql",
        isAvailable: PostgresBinaries.find() != nil)

    init(name: String, install: String, isAvailable: Bool) {
        self.name = name
        self.install = install
        self.isAvailable = isAvailable
    }

    /// The full path of `program` on `PATH`, if any.
    public static func onPath(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func succeeds(_ program: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
