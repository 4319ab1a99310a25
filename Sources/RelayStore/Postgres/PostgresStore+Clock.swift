extension PostgresStore {
    /// PostgreSQL's time in milliseconds since the epoch: the transaction's start (`now()` is stable, so a comparison
    /// with it still reads an index).
    static let databaseNow = "(floor(extract(epoch from now()) * 1000))::int8"

    /// The SQL for "now" by the store's job clock: the database's, or `callerNow` (an integer, so safe to inline).
    func now(_ callerNow: Int64) -> String {
        switch jobClock {
        case .database: Self.databaseNow
        case .caller: String(callerNow)
        }
    }
}
