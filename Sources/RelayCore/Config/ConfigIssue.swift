/// One problem (error or warning) found in a configuration file, located by key path and line.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// Key path of the offending value, e.g. `destinations.crm.url` or `routes[1].to[0]`; empty for file-level problems.
    public var path: String
    /// 1-based line in the file, when known.
    public var line: Int?
    /// One readable line saying what is wrong and how to fix it; never contains secret values.
    public var message: String

    /// Creates an issue.
    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    /// `line 12: destinations.crm.url: message`, leaving out the parts that are unknown.
    public var description: String {
        var text = ""
        if let line { text += "line \(line): " }
        if !path.isEmpty { text += "\(path): " }
        return text + message
    }
}
