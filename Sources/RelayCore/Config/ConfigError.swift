import Foundation

/// Every error found in one configuration file; thrown by `ConfigLoader`.
public struct ConfigError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// The file name or path the issues refer to.
    public var file: String
    /// All errors found, in file order.
    public var issues: [ConfigIssue]

    /// Creates an error for `file` with the given issues.
    public init(file: String, issues: [ConfigIssue]) {
        self.file = file
        self.issues = issues
    }

    /// One line per issue, compiler style: `routes.yaml:12: destinations.crm.url: message`.
    public var description: String {
        issues.map { issue in
            var text = file
            if let line = issue.line { text += ":\(line)" }
            text += ": "
            if !issue.path.isEmpty { text += "\(issue.path): " }
            return text + issue.message
        }.joined(separator: "\n")
    }

    /// Same as `description`, so `error.localizedDescription` is useful too.
    public var errorDescription: String? { description }
}
