/// Where relay keeps events, deliveries and dedup state.
public enum StoreConfig: Sendable, Equatable, CustomStringConvertible {
    /// Embedded SQLite database file (the default).
    case sqlite(path: String)
    /// Shared PostgreSQL store for several relay instances; the URL may hold a password.
    case postgres(url: String)

    /// Human form that never shows the PostgreSQL URL, because it usually embeds a password.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite \(path)"
        case .postgres: return "postgres (connection URL hidden)"
        }
    }
}
