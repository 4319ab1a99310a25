import RelayCore
import RelayStore
import Testing

extension StoreContract {
    /// The console's pictures (SPEC section 17) on each store: minute figures added by the commits they count, read
    /// back summed, sampled and pruned; every attempt kept with its job and deleted with it.
    @Suite("Store contract: minute counts and attempts")
    struct StoreContractPicturesTests {
        static let minute = MinuteCount.minute(of: Sample.now)

        /// The figures of one subject and measure, by minute.
        static func figures(_ counts: [MinuteCount], _ subject: String, _ measure: String) -> [Int64: Int64] {
            counts.filter { $0.subject == subject && $0.measure == measure }.reduce(into: [:]) { $0[$1.minute, default: 0] += $1.value }
        }

        @Test(arguments: StoreKind.testable)
        func ingestCountsAcceptedAndDuplicatesPerSourceAndMinute(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                // Concurrent requests share group commits; each minute row still gets every event once.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<20 { group.addTask { _ = try await store.ingest(Sample.request("a\(i)", "b\(i)")) } }
                    try await group.waitForAll()
                }
                _ = try await store.ingest(Sample.request("a0", "a1", "new"))          // two copies, one new
                _ = try await store.ingest(Sample.request("late", at: Sample.now + 60_000))  // the next minute
                _ = try await store.ingest(Sample.request("other", source: "crm-hooks"))
                let counts = try await store.minuteCounts(sinceMinute: Self.minute - 1)
                #expect(Self.figures(counts, "source:line", "accepted") == [Self.minute: 41, Self.minute + 1: 1])
                #expect(Self.figures(counts, "source:line", "duplicates") == [Self.minute: 2])
                #expect(Self.figures(counts, "source:crm-hooks", "accepted") == [Self.minute: 1])
                // Nothing before the minute asked for.
                #expect(try await store.minuteCounts(sinceMinute: Self.minute + 1).allSatisfy { $0.minute == Self.minute + 1 })
            }
        }

        @Test(arguments: StoreKind.testable)
        func outcomesCountAttemptsAndKeepEachAttemptWithItsJob(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b"))
                var jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
                let a = try #require(jobs.first { $0.eventID == "a" })
                let b = try #require(jobs.first { $0.eventID == "b" })
                func attempt(_ at: Int64, _ ms: Int64) -> AttemptRecord { AttemptRecord(destination: "crm", startedAtMilliseconds: at, durationMilliseconds: ms) }
                try await store.complete([
                    JobOutcome(claim: a.claim, state: .pending, attempts: 1, nextAttemptAtMilliseconds: Sample.now + 1_000, status: 503,
                               error: "HTTP 503", response: "busy", attempt: attempt(Sample.now + 10, 12)),
                    JobOutcome(claim: b.claim, state: .delivered, attempts: 1, status: 200, attempt: attempt(Sample.now + 11, 7)),
                ], nowMilliseconds: Sample.now + 30)
                jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 60_000, limit: 10)
                let retry = try #require(jobs.first)
                try await store.complete([
                    JobOutcome(claim: retry.claim, state: .delivered, attempts: 2, status: 200, attempt: attempt(Sample.now + 60_000, 9)),
                    // An outcome that was no attempt (put back by a shutdown) counts nothing and lists nothing.
                ], nowMilliseconds: Sample.now + 60_010)

                let counts = try await store.minuteCounts(sinceMinute: Self.minute)
                #expect(Self.figures(counts, "destination:crm", "failed") == [Self.minute: 1])
                #expect(Self.figures(counts, "destination:crm", "delivered") == [Self.minute: 1, Self.minute + 1: 1])
                #expect(Self.figures(counts, "destination:bot", "delivered").isEmpty)

                let event = try #require(try await store.event(sourceID: "line", eventID: "a"))
                let crm = try #require(event.jobs.first { $0.destination == "crm" })
                #expect(crm.history == [
                    StoredAttempt(startedAtMilliseconds: Sample.now + 10, durationMilliseconds: 12, status: 503, error: "HTTP 503", response: "busy", outcome: "pending"),
                    StoredAttempt(startedAtMilliseconds: Sample.now + 60_000, durationMilliseconds: 9, status: 200, error: nil, response: nil, outcome: "delivered"),
                ])
                #expect(event.jobs.first { $0.destination == "bot" }?.history == [])

                // Pruning a delivered job deletes its attempts; the other destination's job keeps the event.
                #expect(try await store.prune(finishedBeforeMilliseconds: Sample.now + 120_000, limit: 100) >= 2)
                let afterPrune = try await store.event(sourceID: "line", eventID: "a")
                #expect(afterPrune?.jobs.map(\.destination) == ["bot"])
                // An attempt of a job that is gone (its outcome waited through an outage) inserts nothing and fails nothing.
                try await store.complete([JobOutcome(claim: b.claim, state: .delivered, attempts: 1, status: 200, attempt: attempt(Sample.now + 11, 7))],
                                         nowMilliseconds: Sample.now + 130_000)
                #expect(try await store.event(sourceID: "line", eventID: "b")?.jobs.first { $0.destination == "crm" } == nil)
            }
        }

        @Test(arguments: StoreKind.testable)
        func backlogIsASampleAndOldMinutesArePruned(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                try await store.sampleBacklog(["crm": 7, "bot": 0], nowMilliseconds: Sample.now)
                try await store.sampleBacklog(["crm": 5], nowMilliseconds: Sample.now + 1_000)  // the same minute: replaced
                try await store.sampleBacklog(["crm": 9], nowMilliseconds: Sample.now - 3 * 3_600_000)
                var counts = try await store.minuteCounts(sinceMinute: Self.minute - 300)
                #expect(Self.figures(counts, "destination:crm", "pending") == [Self.minute: 5, Self.minute - 180: 9])
                #expect(Self.figures(counts, "destination:bot", "pending") == [Self.minute: 0])
                #expect(try await store.pruneMinuteCounts(beforeMinute: Self.minute - 60) == 1)
                counts = try await store.minuteCounts(sinceMinute: 0)
                #expect(Self.figures(counts, "destination:crm", "pending") == [Self.minute: 5])
            }
        }

        @Test(arguments: StoreKind.testable)
        func ledgerFlowsGiveTheShareOfMessagesByStatus(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                for (umid, statuses) in [("m1", ["queued", "sent", "delivered", "read"]), ("m2", ["queued", "sent"]), ("m3", ["queued", "undelivered"])] {
                    for (i, status) in statuses.enumerated() {
                        _ = try await store.ingestEvents(Sample.ledgerRequest([Sample.status(umid, status)], at: Sample.now + Int64(i)))
                    }
                }
                // A late copy of a lower status advances nothing and moves no count.
                _ = try await store.ingestEvents(Sample.ledgerRequest([Sample.status("m1", "delivered", "delivered_to_recipient")], at: Sample.now + 9))
                // Summed by the store: one row per source and status, stamped with the first minute asked for.
                let counts = try await store.ledgerTotals(sinceMinute: Self.minute - 5)
                #expect(counts.allSatisfy { $0.measure.hasPrefix("status:") && $0.minute == Self.minute - 5 })
                #expect(Set(counts.map { [$0.subject, $0.measure] }).count == counts.count)
                var share: [String: Int64] = [:]
                for count in counts where count.subject == "source:eightxeight" { share[count.measure, default: 0] += count.value }
                #expect(share["status:read"] == 1 && share["status:sent"] == 1 && share["status:undelivered"] == 1)
                #expect((share["status:queued"] ?? 0) == 0 && (share["status:delivered"] ?? 0) == 0)

                // Minutes apart are summed into one row; minutes before the first asked for are left out.
                _ = try await store.ingestEvents(Sample.ledgerRequest([Sample.status("m4", "queued")], at: Sample.now - 120_000))
                func queued(since minute: Int64) async throws -> [Int64] {
                    try await store.ledgerTotals(sinceMinute: minute).filter { $0.subject == "source:eightxeight" && $0.measure == "status:queued" }.map(\.value)
                }
                #expect(try await queued(since: Self.minute - 5) == [1])
                #expect(try await queued(since: Self.minute).reduce(0, +) == 0)
                // The hour's read leaves the ledger's figures to this one.
                #expect(try await store.minuteCounts(sinceMinute: Self.minute - 5).allSatisfy { !$0.measure.hasPrefix("status:") })
            }
        }
    }
}
