import GRDB

extension WriteOperation {
    /// Applies this operation inside the SQLite group's transaction.
    func apply(_ db: Database) throws -> WriteResult {
        switch self {
        case .ingest(let request): return .ingested(try SQLiteStore.insert(request, db))
        case .claim(let destination, let now, let limit, let lease):
            return .claimed(try SQLiteStore.claim(destination: destination, now: now, limit: limit, lease: lease, db))
        case .complete(let outcomes, let now): return .completed(fenced: try SQLiteStore.complete(outcomes, now: now, db))
        case .expect(let request): return .expected(try SQLiteLedger.expect(request, db))
        }
    }
}
