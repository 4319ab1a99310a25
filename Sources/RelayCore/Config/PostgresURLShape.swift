import Foundation

/// What `store.postgres` must look like: `postgres://user:password@host:5432/database?sslmode=require`.
/// Checked by `relay check`, so a typo is reported before a start-up that cannot connect.
enum PostgresURLShape {
    static let sslModes: Set<String> = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// What is wrong with `url`, in words that never repeat it; nil when it has the right shape.
    static func problem(_ url: String) -> String? {
        let example = "e.g. postgres://user:password@host:5432/relay"
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            return "is not a URL (\(example))"
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            return "must start with postgres:// or postgresql:// (\(example))"
        }
        guard let host = components.host, !host.isEmpty else { return "names no host (\(example))" }
        guard !components.path.drop(while: { $0 == "/" }).isEmpty else { return "names no database (\(example))" }
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value, !sslModes.contains(mode) {
            return "has an unknown sslmode (use one of \(sslModes.sorted().joined(separator: ", ")))"
        }
        return nil
    }
}
