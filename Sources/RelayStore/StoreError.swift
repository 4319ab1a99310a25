/// The store could not do what was asked; ingest answers 503 so the provider retries.
///
/// It keeps what kind of failure it was (an operator acts differently on a full disk than on a corrupt file) and
/// the database's own words for it, so a log line can say why a commit failed while the HTTP answer stays generic.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in the terms an operator acts on.
    public enum Kind: String, Sendable {
        /// The file cannot be opened or read/written (I/O error, missing directory, permissions).
        case unavailable
        /// No space left for the write (SQLITE_FULL).
        case diskFull = "disk_full"
        /// The file is damaged or is not a database.
        case corrupt
        /// The store was closed (shutting down) before the operation ran.
        case closed
        /// Another connection held the lock past the busy timeout.
        case busy
        /// The transaction lost a deadlock or a serialization conflict with another one (PostgreSQL, several
        /// instances): written again at once, it goes through.
        case conflict
        /// The store was opened read-only, or the file or its directory cannot be written.
        case readOnly = "read_only"
        /// The configured store kind is not available in this build.
        case unsupported
        /// The database refused the values of this write (a value it cannot hold, a constraint, a size limit): the
        /// write's own fault, not the store's. Alone in its group it is the caller's 400, not a 503.
        case rejected
        /// Anything else the database refused (a bug).
        case failed
    }

    public var kind: Kind
    /// What the store was doing, e.g. `cannot commit`.
    public var context: String
    /// The underlying cause in the database's words (e.g. SQLite's `database or disk is full`), when there is one.
    public var cause: String?

    /// Builds an error of `kind` while doing `context`, caused by `cause`.
    public init(_ kind: Kind, _ context: String, cause: String? = nil) {
        self.kind = kind
        self.context = context
        self.cause = cause
    }

    /// An error with only a message (kind `failed`).
    public init(_ message: String) { self.init(.failed, message) }

    /// `context: cause`, or the context alone.
    public var message: String { cause.map { "\(context): \($0)" } ?? context }
    public var description: String { message }

    /// The store is closed; nothing more is written.
    public static let closed = StoreError(.closed, "the store is closed")

    /// Whether the failure may lie in one item of a group rather than in the store: then the group's items are written
    /// again one at a time, so that only the item at fault fails. An unreachable, full, read-only, damaged, busy or
    /// closed store would fail each of them alike.
    /// A conflict is written again too: one item at a time, the group's locks can no longer interleave with another
    /// instance's (an expectation and an ingest of the same messages, in two groups taken in opposite orders).
    public var mayLieInOneItem: Bool { kind == .rejected || kind == .failed || kind == .conflict }
}
