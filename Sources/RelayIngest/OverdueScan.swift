import RelayCore
import RelayStore

extension Intake {
    /// What one overdue scan emitted, per source.
    public struct OverdueReport: Sendable, Equatable {
        public var emitted: [String: Int] = [:]
        public var total: Int { emitted.values.reduce(0, +) }
    }

    /// Emits `delivery.overdue` for messages whose deadline passed by `nowMilliseconds`, at most `limit` of them: read
    /// from the ledger's deadline index (nothing else is read), stored with their jobs through the ingest path, which
    /// marks each message overdue and clears its deadline in the same transaction. Off the request path; a second
    /// scan of the same messages (another instance, a restart in between) finds their dedup keys and stores nothing.
    public func emitOverdue(nowMilliseconds now: Int64, limit: Int) async throws(StoreError) -> OverdueReport {
        let due = try await store.dueOverdue(nowMilliseconds: now, limit: limit)
        guard !due.isEmpty else { return OverdueReport() }
        let config = snapshot
        var report = OverdueReport()
        var createdJobs = false
        for (sourceID, messages) in Dictionary(grouping: due, by: \.sourceID).sorted(by: { $0.key < $1.key }) {
            let source = config.source(sourceID)
            let provider = source?.provider.kind ?? ProviderKind(rawValue: "unknown")
            let items = messages.map { message in
                let event = OverdueEvent.make(
                    sourceID: sourceID, provider: provider, messageID: message.messageID, status: message.status,
                    channel: message.channel, eventSource: message.eventSource, deadlineMilliseconds: message.deadlineMilliseconds,
                    expectWithinMilliseconds: message.expectWithinMilliseconds,
                    reason: message.expectWithinMilliseconds.flatMap { source?.provider.overdueReason(within: .milliseconds($0)) },
                    receivedAtMilliseconds: now)
                // relay's own event has no provider format to pass through: passthrough destinations do not get it.
                let decision = config.routingTable.route(event, sourceID: sourceID, providerFormat: false)
                return IngestRequest.Event(event: event, destinations: decision.always, keepPassthrough: false)
            }
            let request = IngestRequest(
                sourceID: sourceID, provider: provider, receivedAtMilliseconds: now,
                dedupExpiresAtMilliseconds: now + config.dedupWindow.milliseconds,
                messageExpiresAtMilliseconds: now + config.messageWindow.milliseconds, events: items,
                orderedDestinations: config.orderedDestinations)
            let outcome = try await store.ingestEvents(request)
            report.emitted[sourceID, default: 0] += outcome.count(where: \.isNew)
            createdJobs = createdJobs || zip(items, outcome).contains { $1.isNew && !$0.destinations.isEmpty }
        }
        if createdJobs { onJobsCreated() }
        return report
    }
}
