import Foundation
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads, parses and validates `routes.yaml`, reporting every problem in one `ConfigError`.
public enum ConfigLoader: Sendable {
    /// Loads the file at `path`; an unreadable file is a `ConfigError` with one issue.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> RelayConfig {
        let text: String
        switch readFile(path) {
        case .success(let contents):
            text = contents
        case .failure(let reason):
            throw ConfigError(file: path, issues: [ConfigIssue(path: "", line: nil, message: "cannot read \(path): \(reason.text)")])
        }
        return try parse(yaml: text, file: path, environment: environment)
    }

    /// Parses and validates YAML text; `file` only labels the messages.
    public static func parse(
        yaml: String, file: String = "routes.yaml", environment: [String: String]
    ) throws(ConfigError) -> RelayConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(file: file, issues: [syntaxIssue(error, yaml: yaml)])
        }
        var decoder = ConfigDecoder(environment: environment)
        let config = decoder.decode(root)
        guard decoder.errors.isEmpty else { throw ConfigError(file: file, issues: decoder.errors) }
        return config
    }

    /// One readable line for a Yams error; the snippet and the YAML text Yams attaches are dropped
    /// because they can contain secrets written literally in the file.
    static func syntaxIssue(_ error: any Error, yaml: String) -> ConfigIssue {
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return ConfigIssue(path: "", line: mark.line, message: message)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { yaml.prefix($0).filter { $0 == "\n" }.count + 1 }
            return ConfigIssue(path: "", line: line, message: "cannot read YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            let line = context.mark.line > 0 ? context.mark.line : nil
            return ConfigIssue(path: "", line: line, message: "duplicate key \(keys) in the same mapping")
        default:
            return ConfigIssue(path: "", line: nil, message: "cannot parse YAML")
        }
    }

    private struct ReadFailure: Error {
        var text: String
    }

    /// Reads with stdio so the failure reason is the plain errno text ("No such file or directory").
    private static func readFile(_ path: String) -> Result<String, ReadFailure> {
        guard let file = fopen(path, "rb") else {
            return .failure(ReadFailure(text: String(cString: strerror(errno))))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            bytes += buffer[0..<count]
            if count < buffer.count {
                if ferror(file) != 0 { return .failure(ReadFailure(text: String(cString: strerror(errno)))) }
                break
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ReadFailure(text: "the file is not valid UTF-8"))
        }
        return .success(text)
    }
}
