/// A store whose writes go through one `GroupCommitter` (both stores): ingest is one operation of the next group.
protocol GroupCommittingStore: Store {
    var committer: GroupCommitter<WriteOperation, WriteResult> { get }
    /// A failure to commit, in the store's own terms (its kind and the database's cause).
    func commitError(_ error: any Error) -> StoreError
}

extension GroupCommittingStore {
    public func ingestEvents(_ request: IngestRequest) async throws(StoreError) -> [IngestOutcome] {
        guard case .ingested(let accepted) = try await grouped(.ingest(request)) else { return [] }
        return accepted
    }

    public func expect(_ request: ExpectationRequest) async throws(StoreError) -> ExpectationResult {
        guard case .expected(let result) = try await grouped(.expect(request)) else { return ExpectationResult(registered: 0, alreadyMet: 0) }
        return result
    }

    /// Runs `operation` in the next group commit.
    func grouped(_ operation: WriteOperation) async throws(StoreError) -> WriteResult {
        do {
            return try await committer.submit(operation, weight: operation.weight)
        } catch {
            throw commitError(error)
        }
    }
}
