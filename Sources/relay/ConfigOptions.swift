import ArgumentParser
import Foundation
import RelayCore

/// `--config F`, else `RELAY_CONFIG`, else `./routes.yaml`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Path of routes.yaml (default: $RELAY_CONFIG or ./routes.yaml).")
    var config: String?

    var path: String { config ?? ProcessInfo.processInfo.environment["RELAY_CONFIG"] ?? "routes.yaml" }

    /// Loads the file, or prints every error (one line each) and exits 1.
    func load() throws -> RelayConfig {
        do {
            return try ConfigLoader.load(path: path)
        } catch {
            for line in error.description.split(separator: "\n") { printError(String(line)) }
            throw ExitCode(1)
        }
    }
}

/// A provider body from `file`, or from standard input when there is none; one line and exit 1 when unreadable.
func readBody(file: String?) throws -> [UInt8] {
    guard let file else { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
    guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure.exit("cannot read \(file)") }
    return Array(data)
}

/// One readable line on stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data(("relay: " + message + "\n").utf8))
}

/// Fails the command with one line on stderr and exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension CommandFailure {
    static func exit(_ message: String) -> ExitCode {
        printError(message)
        return ExitCode(1)
    }
}
