import RelayCore
import RelayStore
import Testing

extension StoreContract {
    /// The contract every store keeps for delivery jobs: claims, leases and fencing, outcomes, release, the housekeeping turn, replay, prune, stats.
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
                let id = Dictionary(uniqueKeysWithValues: try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map { ($0.eventID, $0.claim) })
                try await store.complete([
                    JobOutcome(claim: id["a"]!, state: .delivered, attempts: 1, status: 200),
                    JobOutcome(claim: id["b"]!, state: .delivered, attempts: 2, status: 204),
                    JobOutcome(claim: id["c"]!, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now + 1_000, status: 503, error: "HTTP 503"),
                    JobOutcome(claim: id["d"]!, state: .dead, attempts: 4, status: 400, error: "HTTP 400", response: "bad"),
                ], nowMilliseconds: Sample.now + 10)
                // A late outcome for a job released meanwhile changes nothing.
                try await store.release([id["e"]!], nowMilliseconds: Sample.now)
                try await store.complete([JobOutcome(claim: id["e"]!, state: .delivered, attempts: 1, status: 200)], nowMilliseconds: Sample.now)

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
        func releaseReturnsOnlyJobsStillHeldUnderTheirClaim(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b"))
                let jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
                // A release under a claim the job no longer has (a made-up token) changes nothing.
                try await store.release([JobClaim(jobID: jobs[0].id, lease: jobs[0].lease &+ 1)], nowMilliseconds: Sample.now + 5)
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 50, limit: 10).isEmpty)
                try await store.release([jobs[0].claim], nowMilliseconds: Sample.now + 5)
                // The released job kept its schedule; the other stays held (nothing requeues it) until its claim lapses.
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10).map(\.eventID) == ["a"])
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 59_999, limit: 10).isEmpty)
            }
        }

        @Test(arguments: StoreKind.testable)
        func aLapsedClaimIsClaimedAgainAndItsLateOutcomeIsFenced(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b"))
                let first = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10, leaseMilliseconds: 1_000)
                #expect(first.map(\.eventID) == ["a", "b"] && first.allSatisfy { $0.leaseUntilMilliseconds == Sample.now + 1_000 })
                // Held until the lease lapses, which is when the destination next has work.
                #expect(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 999, limit: 10).isEmpty)
                #expect(try await store.nextDue(destination: "crm") == Sample.now + 1_000)
                let second = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 1_000, limit: 10, leaseMilliseconds: 1_000)
                #expect(second.map(\.id) == first.map(\.id) && second.allSatisfy { $0.attempts == 0 })
                #expect(Set(second.map(\.lease)).isDisjoint(with: first.map(\.lease)))
                // The first claim's late answers are refused; the second claim's are recorded.
                let late = first.map { JobOutcome(claim: $0.claim, state: .dead, attempts: 1, status: 400) }
                #expect(try await store.complete(late, nowMilliseconds: Sample.now + 1_100) == 2)
                try await store.release(first.map(\.claim), nowMilliseconds: Sample.now + 1_100)
                #expect(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" }?.inFlight == 2)
                let current = [
                    JobOutcome(claim: second[0].claim, state: .delivered, attempts: 1, status: 200),
                    JobOutcome(claim: second[1].claim, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now + 5_000, status: 503),
                ]
                #expect(try await store.complete(current, nowMilliseconds: Sample.now + 1_200) == 0)
                let crm = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
                #expect(crm.delivered == 1 && crm.pending == 1 && crm.inFlight == 0 && crm.dead == 0)
                #expect(try await store.nextDue(destination: "crm") == Sample.now + 5_000)
            }
        }

        @Test(arguments: StoreKind.testable)
        func theHousekeepingTurnHasOneHolderUntilItLapses(kind: StoreKind) async throws {
            try await withStore(kind) { open async throws in
                let store = open.store
                func turn(_ holder: String, at offset: Int64, name: String = "housekeeping") async throws -> Bool {
                    try await store.takeTurn(name, holder: holder, nowMilliseconds: Sample.now + offset, holdMilliseconds: 1_000)
                }
                #expect(try await turn("x", at: 0) == true)
                #expect(try await turn("y", at: 10) == false)
                // Another name is another turn.
                #expect(try await turn("y", at: 10, name: "other") == true)
                // The holder renews; the other waits until the renewed hold lapses.
                #expect(try await turn("x", at: 500) == true)
                #expect(try await turn("y", at: 1_499) == false)
                #expect(try await turn("y", at: 1_500) == true)
                #expect(try await turn("x", at: 1_600) == false)
            }
        }

        @Test(arguments: StoreKind.testable)
        func replayMovesDeadLettersBackWithAFreshSchedule(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b", "c"))
                for destination in ["crm", "bot"] {
                    let jobs = try await store.claimDue(destination: destination, nowMilliseconds: Sample.now, limit: 10)
                    try await store.complete(jobs.map { JobOutcome(claim: $0.claim, state: .dead, attempts: 3, status: 500) }, nowMilliseconds: Sample.now)
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

        /// The type glob is matched in the query, before the limit, as ``Glob`` matches: `*` and `?`, case-sensitive, and
        /// every other character literal (SQLite's `[` classes, LIKE's `%` and `_`).
        @Test(arguments: StoreKind.testable)
        func deadLettersAreFilteredByTypeBeforeTheLimit(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let types = ["delivery.delivered", "delivery.delivered", "delivery.delivered", "line.follow", "line.x_y", "line.[a]", "Line.follow", "line.100%"]
                _ = try await store.ingest(Sample.request(types.enumerated().map { Sample.event("t\($0.offset)", type: $0.element) }, destinations: ["crm"]))
                let jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 20)
                try await store.complete(jobs.map { JobOutcome(claim: $0.claim, state: .dead, attempts: 1, status: 500) }, nowMilliseconds: Sample.now)
                func ids(_ type: String?, limit: Int = 20) async throws -> [String] {
                    try await store.deadLetters(destination: "crm", sinceMilliseconds: nil, untilMilliseconds: nil, type: type, limit: limit).map(\.eventID)
                }
                #expect(try await ids("line.follow", limit: 1) == ["t3"], "the first match, past three others, within a limit of 1")
                #expect(try await ids("line.*") == ["t3", "t4", "t5", "t7"])
                #expect(try await ids("line.x?y") == ["t4"])
                #expect(try await ids("line.x_y") == ["t4"])
                for literal in ["line._y", "line.x%", "line.[b]", "line.a"] {
                    #expect(try await ids(literal).isEmpty, "\(literal): LIKE's wildcards and GLOB's classes are literal")
                }
                #expect(try await ids("line.[a]") == ["t5"])
                #expect(try await ids("line.100%") == ["t7"])
                #expect(try await ids("*.follow") == ["t3", "t6"])
                #expect(try await ids("LINE.*").isEmpty, "case-sensitive")
                #expect(try await ids(nil).count == 8)
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
                try await store.complete(jobs.map { JobOutcome(claim: $0.claim, state: .delivered, attempts: 1, status: 200) }, nowMilliseconds: Sample.now)
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
