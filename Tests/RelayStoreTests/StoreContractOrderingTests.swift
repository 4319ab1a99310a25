import RelayCore
import RelayStore
import Testing

extension StoreContract {
    /// Ordered delivery (SPEC section 14) as every store keeps it: only a subject's head can be claimed, its end lets
    /// the next go in commit order, a failing head holds back only its own subject, a lapsed head is claimed again
    /// before anything behind it, and concurrent claims never take two jobs of one subject.
    @Suite("Store contract: ordering")
    struct StoreContractOrderingTests {
        /// An event of `subject` (nil: none).
        static func event(_ id: String, subject: String?) -> IncomingEvent {
            var event = Sample.event(id)
            event.subject = subject
            return event
        }

        /// Events for `crm` (ordered) and `bot` (not).
        static func request(_ events: [(String, String?)], at time: Int64 = Sample.now) -> IngestRequest {
            var request = Sample.request(events.map { event($0.0, subject: $0.1) }, at: time)
            request.orderedDestinations = ["crm"]
            return request
        }

        static func claim(_ store: any Store, _ destination: String = "crm", at time: Int64 = Sample.now, limit: Int = 100) async throws -> [DeliveryJob] {
            try await store.claimDue(destination: destination, nowMilliseconds: time, limit: limit)
        }

        static func delivered(_ job: DeliveryJob) -> JobOutcome {
            JobOutcome(claim: job.claim, state: .delivered, attempts: job.attempts + 1, status: 200)
        }

        @Test(arguments: StoreKind.testable)
        func onlyTheHeadOfASubjectIsClaimedAndItsEndLetsTheNextGo(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                // One request: the body's order is the commit order. "x" has no subject: never held.
                _ = try await store.ingest(Self.request([("m1-a", "m1"), ("m2-a", "m2"), ("m1-b", "m1"), ("x", nil), ("m1-c", "m1")]))
                let stats = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
                #expect(stats.pending == 5 && stats.held == 2)
                // The unordered destination gets every job at once.
                #expect(try await Self.claim(store, "bot").count == 5)

                var jobs = try await Self.claim(store)
                #expect(jobs.map(\.eventID) == ["m1-a", "m2-a", "x"])
                #expect(jobs.map(\.subject) == ["m1", "m2", nil])
                #expect(try await Self.claim(store).isEmpty, "nothing behind a head in flight")
                // The head's end lets exactly the next of its subject go, due now.
                try await store.complete([Self.delivered(jobs[0])], nowMilliseconds: Sample.now + 10)
                jobs = try await Self.claim(store, at: Sample.now + 10)
                #expect(jobs.map(\.eventID) == ["m1-b"])
                // A dead letter ends its turn too.
                try await store.complete([JobOutcome(claim: jobs[0].claim, state: .dead, attempts: 4, status: 400)], nowMilliseconds: Sample.now + 20)
                jobs = try await Self.claim(store, at: Sample.now + 20)
                #expect(jobs.map(\.eventID) == ["m1-c"])
                try await store.complete([Self.delivered(jobs[0])], nowMilliseconds: Sample.now + 30)
                let after = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
                #expect(after.held == 0 && after.pending == 0 && after.inFlight == 2 && after.dead == 1 && after.delivered == 2)
                // A subject that emptied starts again with a head of its own.
                _ = try await store.ingest(Self.request([("m1-d", "m1"), ("m1-e", "m1")], at: Sample.now + 40))
                #expect(try await Self.claim(store, at: Sample.now + 40).map(\.eventID) == ["m1-d"])
            }
        }

        @Test(arguments: StoreKind.testable)
        func aFailingHeadHoldsBackOnlyItsSubjectAndALapsedHeadGoesFirst(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Self.request([("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")]))
                var jobs = try await Self.claim(store)
                #expect(jobs.map(\.eventID) == ["a1", "b1"])
                // a1 fails and waits for its retry; b goes on.
                try await store.complete([
                    JobOutcome(claim: jobs[0].claim, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now + 1_000, status: 503),
                    Self.delivered(jobs[1]),
                ], nowMilliseconds: Sample.now + 10)
                let b2 = try await Self.claim(store, at: Sample.now + 10)
                #expect(b2.map(\.eventID) == ["b2"])
                try await store.complete(b2.map(Self.delivered), nowMilliseconds: Sample.now + 20)
                // Its retry comes before a2, and a2 only after it was delivered.
                jobs = try await Self.claim(store, at: Sample.now + 1_000)
                #expect(jobs.map(\.eventID) == ["a1"])
                // The claim lapses (its instance died): a1 is claimed again, a2 still waits.
                let lapsed = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 1_000 + 60_001, limit: 10)
                #expect(lapsed.map(\.eventID) == ["a1"])
                // The dead instance's late outcome is fenced and moves nothing.
                #expect(try await store.complete([Self.delivered(jobs[0])], nowMilliseconds: Sample.now + 61_100) == 1)
                try await store.complete([Self.delivered(lapsed[0])], nowMilliseconds: Sample.now + 61_200)
                let next = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 61_200, limit: 10)
                #expect(next.map(\.eventID) == ["a2"])
            }
        }

        @Test(arguments: StoreKind.testable)
        func concurrentClaimsNeverTakeTwoJobsOfOneSubject(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                // 20 subjects x 5 jobs, ingested by concurrent requests (on PostgreSQL, concurrent transactions).
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for round in 0..<5 {
                        group.addTask {
                            _ = try await store.ingest(Self.request((0..<20).map { ("s\($0)-\(round)-\(UInt32.random(in: 0...UInt32.max))", "s\($0)") },
                                                                    at: Sample.now))
                        }
                    }
                    try await group.waitForAll()
                }
                // Eight concurrent claimers, each finishing what it took, until all 100 are delivered.
                let seen = try await withThrowingTaskGroup(of: [[String]].self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            var batches: [[String]] = []
                            for _ in 0..<200 {
                                let jobs = try await Self.claim(store, limit: 10)
                                batches.append(jobs.compactMap(\.subject))
                                if !jobs.isEmpty { try await store.complete(jobs.map(Self.delivered), nowMilliseconds: Sample.now) }
                                let left = try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" }
                                if left?.pending == 0 && left?.inFlight == 0 { break }
                            }
                            return batches
                        }
                    }
                    return try await group.reduce(into: [[String]]()) { $0 += $1 }
                }
                for batch in seen { #expect(Set(batch).count == batch.count, "one claim took two jobs of a subject: \(batch)") }
                let crm = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
                #expect(crm.delivered == 100 && crm.pending == 0 && crm.held == 0)
            }
        }

        @Test(arguments: StoreKind.testable)
        func aReplayedDeadLetterGoesAtOnceAndHoldsNothing(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Self.request([("d1", "d"), ("d2", "d")]))
                var jobs = try await Self.claim(store)
                try await store.complete([JobOutcome(claim: jobs[0].claim, state: .dead, attempts: 4, status: 400)], nowMilliseconds: Sample.now)
                jobs = try await Self.claim(store)
                #expect(jobs.map(\.eventID) == ["d2"])
                // d2 in flight; d1 replayed goes beside it, unordered, and its end lets nothing else go.
                #expect(try await store.replay(ids: nil, destination: "crm", nowMilliseconds: Sample.now) == 1)
                let replayed = try await Self.claim(store)
                #expect(replayed.map(\.eventID) == ["d1"] && replayed[0].subject == nil)
                _ = try await store.ingest(Self.request([("d3", "d")]))
                try await store.complete([Self.delivered(replayed[0])], nowMilliseconds: Sample.now)
                #expect(try await Self.claim(store).isEmpty, "d3 waits for d2, not for the replayed d1")
                try await store.complete([Self.delivered(jobs[0])], nowMilliseconds: Sample.now)
                #expect(try await Self.claim(store).map(\.eventID) == ["d3"])
            }
        }
    }
}
