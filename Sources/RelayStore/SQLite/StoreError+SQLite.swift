import GRDB

extension StoreError {
    /// `error` thrown by GRDB or SQLite while doing `context`, classified by SQLite's primary result code.
    init(_ context: String, sqlite error: any Error) {
        if let error = error as? StoreError {
            self = error
            return
        }
        guard let database = error as? DatabaseError else {
            self.init(error is CancellationError ? .closed : .failed, context, cause: "\(error)")
            return
        }
        self.init(Self.kind(of: database.resultCode), context, cause: SQLiteStore.describe(database))
    }

    static func kind(of code: ResultCode) -> Kind {
        switch code.primaryResultCode {
        case .SQLITE_FULL: .diskFull
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: .corrupt
        case .SQLITE_BUSY, .SQLITE_LOCKED: .busy
        case .SQLITE_READONLY: .readOnly
        case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH, .SQLITE_NOLFS: .unavailable
        // GRDB answers SQLITE_MISUSE for a closed connection; SQLITE_INTERRUPT is the close interrupting a statement.
        case .SQLITE_MISUSE, .SQLITE_INTERRUPT, .SQLITE_ABORT: .closed
        case .SQLITE_TOOBIG, .SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_RANGE: .rejected
        default: .failed
        }
    }
}
