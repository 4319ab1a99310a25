import RelayCore
import RelayStore
import Testing

extension StoreContract {
    /// One item a store cannot hold (a NUL byte in text: PostgreSQL refuses it, SQLSTATE 22021) fails only itself
    /// (SPEC section 13, issue 23). Before, the whole group commit failed with it: every request that shared the commit
    /// got 503, and an outcome batch was put back forever with every outcome that joined it.
    @Suite("Store contract: poison")
    struct StoreContractPoisonTests {
        static let poisoned = "ab\u{0}c"

        @Test(arguments: StoreKind.testable)
        func aPoisonedRequestFailsAloneAndItsGroupCommits(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                // 50 requests at once share commit groups; the poisoned one sits among them.
                let results = await withTaskGroup(of: (Int, Result<[IngestOutcome], StoreError>).self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            let id = index == 25 ? Self.poisoned : "event-\(index)"
                            do {
                                return (index, .success(try await store.ingestEvents(Sample.request(id))))
                            } catch let error as StoreError {
                                return (index, .failure(error))
                            } catch {
                                return (index, .failure(StoreError("\(error)")))
                            }
                        }
                    }
                    return await group.reduce(into: [Int: Result<[IngestOutcome], StoreError>]()) { $0[$1.0] = $1.1 }
                }
                for index in 0..<50 where index != 25 {
                    guard case .success(let outcome)? = results[index] else { Issue.record("request \(index): \(String(describing: results[index]))"); continue }
                    #expect(outcome.map(\.isNew) == [true], "request \(index)")
                }
                let stats = try await store.stats(nowMilliseconds: Sample.now)
                switch (kind, results[25]) {
                case (.postgres, .failure(let error)?):
                    #expect(error.kind == .rejected, "\(error)")
                    #expect(stats.events == 49 && stats.pending("crm") == 49)
                case (.sqlite, .success(let outcome)?):
                    // SQLite holds any text: the id is stored and reads back byte for byte.
                    #expect(outcome.map(\.isNew) == [true])
                    #expect(try await store.event(sourceID: "line", eventID: Self.poisoned)?.eventID.utf8.elementsEqual(Self.poisoned.utf8) == true)
                    #expect(stats.events == 50)
                default:
                    Issue.record("\(kind): the poisoned request came to \(String(describing: results[25]))")
                }
            }
        }

        /// An outcome whose texts bypass `JobOutcome`'s escaping: the batch it is in is refused as a whole on
        /// PostgreSQL (the caller splits it, see the outcome recorder's test); alone it fails alone, and the others of
        /// its batch, written one by one, are recorded.
        @Test(arguments: StoreKind.testable)
        func anUnstorableOutcomeFailsOnlyItself(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a", "b", "c"))
                let jobs = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10)
                var poisoned = JobOutcome(claim: jobs[1].claim, state: .dead, attempts: 1, status: 500)
                poisoned.error = "HTTP 500"
                poisoned.response = "bad\u{0}nul"
                let good = [jobs[0], jobs[2]].map { JobOutcome(claim: $0.claim, state: .delivered, attempts: 1, status: 200) }
                do {
                    try await store.complete(good + [poisoned], nowMilliseconds: Sample.now)
                    #expect(kind == .sqlite, "PostgreSQL stored a NUL in text")
                    // SQLite takes it, but reads such text back cut at the NUL: one reason relay never hands a store one.
                    #expect(try await store.deadLetters(destination: "crm", limit: 10).first?.lastResponse?.hasPrefix("bad") == true)
                } catch let error as StoreError {
                    #expect(kind == .postgres && error.kind == .rejected, "\(error)")
                    try await store.complete(good, nowMilliseconds: Sample.now)
                    await #expect(throws: StoreError.self) { try await store.complete([poisoned], nowMilliseconds: Sample.now) }
                }
                let crm = try #require(try await store.stats(nowMilliseconds: Sample.now).destinations.first { $0.destination == "crm" })
                #expect(crm.delivered == 2)
            }
        }

        /// What `JobOutcome` makes of a backend's bytes is text every store holds: NUL and invalid UTF-8 escaped.
        @Test(arguments: StoreKind.testable)
        func escapedBackendBytesAreStoredOnEveryStore(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingest(Sample.request("a"))
                let job = try #require(try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 1).first)
                let snippet = PrintableText.escaping([0x62, 0x61, 0x64, 0x00, 0x6E, 0xFF, 0xFE, 0x1F, 0x8B, 0x08, 0x00])
                #expect(snippet == #"bad\x00n\xff\xfe\x1f\x8b\x08\x00"#)
                try await store.complete([JobOutcome(claim: job.claim, state: .dead, attempts: 1, status: 500, error: "HTTP 500\u{0}", response: snippet)],
                                         nowMilliseconds: Sample.now)
                let dead = try #require(try await store.deadLetters(destination: "crm", limit: 1).first)
                #expect(dead.lastResponse == snippet && dead.lastError == #"HTTP 500\x00"#)
            }
        }
    }
}
