import PostgresNIO

extension StoreError {
    /// `error` thrown by PostgresNIO while doing `context`, classified by PostgreSQL's SQLSTATE or the client's code.
    init(_ context: String, postgres error: any Error) {
        if let error = error as? StoreError {
            self = error
            return
        }
        if let transaction = error as? PostgresTransactionError {
            // The first failure is the one that says why: BEGIN, the statements, or COMMIT.
            let cause = transaction.beginError ?? transaction.closureError ?? transaction.commitError ?? transaction.rollbackError
            if let cause {
                self.init(context, postgres: cause)
                return
            }
        }
        guard let psql = error as? PSQLError else {
            // The pool's own breaker (`connectionCreationCircuitBreakerTripped`, after a minute without a connection)
            // says the database cannot be reached; read as "failed" it once marked PostgreSQL up 67 s into an outage.
            let poolError = String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError")
            self.init(error is CancellationError ? .closed : poolError ? .unavailable : .failed, context, cause: "\(error)")
            return
        }
        self.init(Self.kind(of: psql), context, cause: Self.describe(psql))
    }

    static func kind(of error: PSQLError) -> Kind {
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            switch state {
            case "53100": return .diskFull
            case "25006": return .readOnly
            case "XX001", "XX002": return .corrupt
            case "40001", "40P01": return .conflict
            case "55P03": return .busy
            // Data exceptions (a NUL in text: 22021), constraints, program limits (an index row too large): this
            // write's values, not the database.
            case _ where state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("54"): return .rejected
            // Connection exceptions, the server shutting down or starting, too many connections.
            case _ where state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53"): return .unavailable
            default: return .failed
            }
        case .poolClosed, .clientClosedConnection: return .closed
        case .queryCancelled: return .closed
        default: return .unavailable  // cannot connect, connection lost, TLS or authentication failed
        }
    }

    /// The server's own message and SQLSTATE, or the client's error code. PSQLError's description is generic on
    /// purpose and its debug description holds the query's bound values: neither belongs in a log line.
    static func describe(_ error: PSQLError) -> String {
        if let info = error.serverInfo, let message = info[.message] {
            return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
