import RelayCore
import RelayStore
import Testing

extension StoreContract {
    /// The contract every store keeps for delivery jobs: claims, outcomes, release, requeue, replay, prune, stats.
    @Suite("Store contract: jobs")
    struct StoreContractJobTests {
        @Test(arguments: StoreKind.testable)
        func claimsTakeDueJobsOldestFirstOnce(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b", "c"))
                #expect(try await store.nextDue(destination: "crm") == Sample.now)
                #expect(try await store.nextDue(destination: "nowhere") == nil)
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now - 1, limit: 10).isEmpty)
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 2).map(\.eventID) == ["a", "b"])
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map(\.eventID) == ["c"])
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).isEmpty)
                let crm = try #require(try await store.stats(nowMilliseconds: Sample.now + 2_000).destinations.first { $0.destination == "crm" })
                #expect(crm.inFlight == 3 && crm.pending == 0 && crm.oldestPendingSeconds == 2)
                // Another destination's jobs are its own.
                #expect(try await store.claimDue(destination: "bot", nowMilliseconds: Sample.now, limit: 10).count == 3)
            }
        }

        @Test(arguments: StoreKind.testable)
        func concurrentClaimsNeverShareAJob(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request((0..<40).map { Sample.event("j\($0)") }))
                let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
                    for _ in 0..<8 { group.addTask { try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map(\.id) } }
                    return try await group.reduce(into: [Int64]()) { $0 += $1 }
                }
                #expect(claimed.count == 40 && Set(claimed).count == 40)
            }
        }

        @Test(arguments: StoreKind.testable)
        func outcomesAreRecordedAsTheySayOnlyForJobsInFlight(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b", "c", "d", "e"))
                let id = Dictionary(uniqueKeysWithValues: try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map { ($0.eventID, $0.id) })
                try await store.complete([
                    JobOutcome(jobID: id["a"]!, state: .delivered, attempts: 1, status: 200),
                    JobOutcome(jobID: id["b"]!, state: .delivered, attempts: 2, status: 204),
                    JobOutcome(jobID: id["c"]!, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now + 1_000, status: 503, error: "HTTP 503"),
                    JobOutcome(jobID: id["d"]!, state: .dead, attempts: 4, status: 400, error: "HTTP 400", response: "bad"),
                ], nowMilliseconds: Sample.now + 10)
                // A late outcome for a job released meanwhile changes nothing.
                try await store.release(jobIDs: [id["e"]!], nowMilliseconds: Sample.now)
                try await store.complete([JobOutcome(jobID: id["e"]!, state: .delivered, attempts: 1, status: 200)], nowMilliseconds: Sample.now)

                let crm = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
                #expect(crm.delivered == 2 && crm.pending == 2 && crm.dead == 1 && crm.inFlight == 0)
                let dead = try #require(try await store.deadLetters(destination: nil, limit: 10).first)
                #expect(dead.eventID == "d" && dead.destination == "crm" && dead.sourceID == "line" && dead.type == "delivery.delivered")
                #expect(dead.attempts == 4 && dead.lastStatus == 400 && dead.lastError == "HTTP 400" && dead.lastResponse == "bad")
                #expect(dead.receivedAtMilliseconds == Sample.now && dead.failedAtMilliseconds == Sample.now + 10)
                #expect(try await store.deadLetters(destination: "bot", limit: 10).isEmpty)
                // "e" is due now with no attempt counted; "c" only after its retry delay, its attempt kept.
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map(\.eventID) == ["e"])
                #expect(try await store.nextDue(destination: "crm") == Sample.now + 1_000)
                let retried = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 1_000, limit: 10)
                #expect(retried.map(\.eventID) == ["c"] && retried.first?.attempts == 1)
            }
        }

        @Test(arguments: StoreKind.testable)
        func requeueAndReleaseReturnJobsInFlight(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b"))
                let jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
                try await store.release(jobIDs: [jobs[0].id], nowMilliseconds: Sample.now + 5)
                #expect(try await store.requeueInFlight(nowMilliseconds: Sample.now + 50) == 1)
                #expect(try await store.requeueInFlight(nowMilliseconds: Sample.now + 50) == 0)
                // The released job kept its schedule; the requeued one is due at the requeue.
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map(\.eventID) == ["a"])
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 50, limit: 10).map(\.eventID) == ["b"])
            }
        }

        @Test(arguments: StoreKind.testable)
        func replayMovesDeadLettersBackWithAFreshSchedule(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b", "c"))
                for destination in ["crm", "bot"] {
                    let jobs = try await store.claimDue(destination: destination, nowMilliseconds: Sample.now, limit: 10)
                    try await store.complete(jobs.map { JobOutcome(jobID: $0.id, state: .dead, attempts: 3, status: 500) }, nowMilliseconds: Sample.now)
                }
                let letters = try await store.deadLetters(destination: "crm", limit: 10)
                #expect(letters.map(\.eventID) == ["a", "b", "c"])
                #expect(try await store.deadLetters(destination: nil, limit: 2).count == 2)
                #expect(try await store.replay(ids: [letters[0].id, letters[0].id, 999_999], destination: nil, nowMilliseconds: Sample.now + 100) == 1)
                #expect(try await store.replay(ids: [letters[1].id], destination: "bot", nowMilliseconds: Sample.now + 100) == 0)
                #expect(try await store.replay(ids: nil, destination: "bot", nowMilliseconds: Sample.now + 100) == 3)
                #expect(try await store.replay(ids: nil, destination: nil, nowMilliseconds: Sample.now + 200) == 2)
                let again = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 100, limit: 10)
                #expect(again.map(\.eventID) == ["a"] && again.first?.attempts == 0)
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                #expect(stats.destinations.allSatisfy { $0.dead == 0 })
            }
        }

        @Test(arguments: StoreKind.testable)
        func pruneRemovesOldDeliveredJobsAndTheirEventsOnly(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request(["a", "b"].map { Sample.event($0) }, destinations: ["crm"]))
                _ = try await store.ingest(Sample.request(["pending"].map { Sample.event($0) }, destinations: ["crm"]))
                _ = try await store.ingest(Sample.request([Sample.event("unrouted")], destinations: []))
                let jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 2)
                try await store.complete(jobs.map { JobOutcome(jobID: $0.id, state: .delivered, attempts: 1, status: 200) }, nowMilliseconds: Sample.now)
                #expect(try await store.prune(finishedBeforeMilliseconds: Sample.now, limit: 100) == 0)
                // Two jobs, their two events, and the event no route matched; the pending job and its event stay.
                #expect(try await store.prune(finishedBeforeMilliseconds: Sample.now + 1, limit: 100) == 5)
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                #expect(stats.events == 1 && stats.pending("crm") == 1)
                #expect(stats.destinations.first { $0.destination == "crm" }?.delivered == 0)
                // Dedup keys outlive pruned events: a late copy is still refused.
                #expect(try await store.ingest(Sample.request("a")) == [false])
            }
        }

        @Test(arguments: StoreKind.testable)
        func gaugeStatsLeaveOutOnlyTheEventCount(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b", "c"))
                let full = try await store.stats(nowMilliseconds: Sample.now)
                let gauges = try await store.stats(nowMilliseconds: Sample.now, countingEvents: false)
                #expect(full.events == 3 && gauges.events == 0)
                #expect(full.destinations == gauges.destinations && gauges.dedupKeys == 3)
                #expect(gauges.pending("crm") == 3 && gauges.destinations.first?.oldestPendingSeconds == 0)
            }
        }
    }
}
