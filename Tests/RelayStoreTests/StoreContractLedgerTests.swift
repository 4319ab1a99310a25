import Foundation
import RelayCore
import RelayStore
import RelayTestSupport
import Testing

extension Sample {
    /// An 8x8 status event as the provider normalizes it.
    static func status(_ umid: String, _ state: String, _ detail: String? = nil, channel: String = "whatsapp", at time: Int64 = now) -> IncomingEvent {
        let body = EightByEightBodies.status(umid: umid, state: state, detail: detail, channel: channel)
        // swiftlint:disable:next force_try
        return try! EightByEightProvider().events(from: Array(body.utf8), sourceID: "eightxeight", receivedAtMilliseconds: time)[0]
    }

    /// A LINE delivery completion echoing `key`, as the provider normalizes it.
    static func lineDelivery(_ key: String, at time: Int64 = now) -> IncomingEvent {
        let body = #"{"destination":"U1","events":[{"type":"delivery","delivery":{"data":"\#(key)"},"webhookEventId":"01D\#(key)","timestamp":\#(time),"mode":"active"}]}"#
        // swiftlint:disable:next force_try
        return try! LINEProvider().events(from: Array(body.utf8), sourceID: "line", receivedAtMilliseconds: time)[0]
    }

    static func lineRequest(_ events: [IncomingEvent], at time: Int64 = now) -> IngestRequest {
        IngestRequest(
            sourceID: "line", provider: .line, receivedAtMilliseconds: time, dedupExpiresAtMilliseconds: time + 7 * day,
            messageExpiresAtMilliseconds: time + 14 * day,
            events: events.map { IngestRequest.Event(event: $0, destinations: ["all"], keepPassthrough: false) })
    }

    static func expectations(_ keys: [String], within: Int64 = 2_000, at time: Int64 = now) -> ExpectationRequest {
        ExpectationRequest(sourceID: "line", nowMilliseconds: time, windowMilliseconds: 14 * day,
                           expectations: keys.map { .init(key: $0, withinMilliseconds: within) })
    }

    /// 8x8 events routed to `all` always and to `adv` only when they advance their message.
    static func ledgerRequest(_ events: [IncomingEvent], at time: Int64 = now, expectReceipt: Int64? = nil) -> IngestRequest {
        IngestRequest(
            sourceID: "eightxeight", provider: .eightByEight, receivedAtMilliseconds: time,
            dedupExpiresAtMilliseconds: time + 7 * day, messageExpiresAtMilliseconds: time + 14 * day,
            expectReceiptMilliseconds: expectReceipt,
            events: events.map { IngestRequest.Event(event: $0, destinations: ["all"], advancingDestinations: ["adv"], keepPassthrough: false) })
    }
}

extension StoreContract {
    /// The receipt ledger (SPEC section 10) on each store: progress decided in the event's own commit, the jobs of
    /// `advancing_only` routes, the timeline, the overdue deadlines and expiry.
    @Suite("Store contract: receipt ledger")
    struct StoreContractLedgerTests {
        static func progress(_ store: any Store, _ event: IncomingEvent, at time: Int64 = Sample.now, expectReceipt: Int64? = nil) async throws -> IngestOutcome {
            try await store.ingestEvents(Sample.ledgerRequest([event], at: time, expectReceipt: expectReceipt))[0]
        }

        @Test(arguments: StoreKind.testable)
        func outOfOrderReceiptsNeverMoveTheStatusBack(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let queued = try await Self.progress(store, Sample.status("m-1", "queued"))
                let read = try await Self.progress(store, Sample.status("m-1", "read"), at: Sample.now + 1)
                let late = try await Self.progress(store, Sample.status("m-1", "delivered", "delivered_to_recipient"), at: Sample.now + 2)
                let copy = try await Self.progress(store, Sample.status("m-1", "delivered", "delivered_to_recipient"), at: Sample.now + 3)
                #expect(queued == IngestOutcome(isNew: true, progress: MessageProgress(advanced: true, previous: nil)))
                #expect(read == IngestOutcome(isNew: true, progress: MessageProgress(advanced: true, previous: "queued")))
                #expect(late == IngestOutcome(isNew: true, progress: MessageProgress(advanced: false, previous: "read")))
                #expect(copy == .duplicate)

                let record = try #require(try await store.message(sourceID: "eightxeight", messageID: "m-1"))
                #expect(record.status == "read" && record.channelStatuses.map(\.status) == ["read"] && !record.overdue)
                #expect(record.history.map(\.status) == ["queued", "read", "delivered"])
                #expect(record.history.map(\.advanced) == [true, true, false])
                #expect(record.history.map(\.receivedAtMilliseconds) == [Sample.now, Sample.now + 1, Sample.now + 2])
                #expect(record.history[2].detail == "delivered_to_recipient" && record.history[2].channel == "whatsapp")
                #expect(try await store.messages(messageID: "m-1").map(\.sourceID) == ["eightxeight"])
                #expect(try await store.message(sourceID: "eightxeight", messageID: "m-2") == nil)

                // The plain route got all three, the advancing-only route the two that advanced; each stored body
                // carries its progress.
                let all = try await store.claimDue(destination: "all", nowMilliseconds: Sample.now + 10, limit: 10)
                let adv = try await store.claimDue(destination: "adv", nowMilliseconds: Sample.now + 10, limit: 10)
                #expect(all.count == 3 && adv.count == 2)
                #expect(Set(adv.map(\.type)) == ["delivery.queued", "delivery.read"])
                let progress = try all.sorted { $0.eventID < $1.eventID }.map { try JSONParser.parse($0.canonical)["data"]?["progress"] }
                #expect(progress.contains(MessageProgress(advanced: false, previous: "read").json))
                #expect(progress.contains(MessageProgress(advanced: true, previous: nil).json))
            }
        }

        @Test(arguments: StoreKind.testable)
        func eventsOfOneMessageInOneCommitApplyInOrder(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let events = [Sample.status("m-3", "sent"), Sample.status("m-3", "read"), Sample.status("m-3", "delivered"),
                              Sample.status("m-4", "queued")]
                let outcomes = try await open.store.ingestEvents(Sample.ledgerRequest(events))
                #expect(outcomes.map { $0.progress?.advanced } == [true, true, false, true])
                #expect(outcomes.map { $0.progress?.previous } == [nil, "sent", "read", nil])
                #expect(try await open.store.message(sourceID: "eightxeight", messageID: "m-3")?.status == "read")
            }
        }

        @Test(arguments: StoreKind.testable)
        func overdueDeadlinesAreFoundByTheScanAndEndWithTheirEvent(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let t0 = Sample.now
                _ = try await Self.progress(store, Sample.status("late", "sent"), at: t0, expectReceipt: 2_000)
                _ = try await Self.progress(store, Sample.status("fine", "queued"), at: t0, expectReceipt: 2_000)
                _ = try await Self.progress(store, Sample.status("fine", "delivered"), at: t0 + 1_000, expectReceipt: 2_000)
                _ = try await Self.progress(store, Sample.status("unwatched", "sent"), at: t0)
                #expect(try await store.dueOverdue(nowMilliseconds: t0 + 1_999, limit: 10).isEmpty)
                let due = try await store.dueOverdue(nowMilliseconds: t0 + 2_000, limit: 10)
                #expect(due == [OverdueMessage(sourceID: "eightxeight", messageID: "late", status: "sent", channel: "whatsapp",
                                               eventSource: "/8x8/acme_whatsapp", deadlineMilliseconds: t0 + 2_000, expectWithinMilliseconds: 2_000)])
                let overdue = OverdueEvent.make(
                    sourceID: "eightxeight", provider: .eightByEight, messageID: "late", status: "sent", channel: "whatsapp",
                    eventSource: "/8x8/acme_whatsapp", deadlineMilliseconds: t0 + 2_000, expectWithinMilliseconds: 2_000,
                    receivedAtMilliseconds: t0 + 2_100)
                let stored = try await store.ingestEvents(Sample.ledgerRequest([overdue], at: t0 + 2_100))
                #expect(stored == [IngestOutcome(isNew: true, progress: MessageProgress(advanced: false, previous: "sent"))])
                #expect(try await store.dueOverdue(nowMilliseconds: t0 + 60_000, limit: 10).isEmpty)
                let record = try #require(try await store.message(sourceID: "eightxeight", messageID: "late"))
                #expect(record.overdue && record.overdueAtMilliseconds == nil && record.status == "sent")
                #expect(record.history.map(\.status) == ["sent", "overdue"])
                // Only the plain route gets it (it does not advance); its body is the SPEC's event.
                let job = try #require(try await store.claimDue(destination: "all", nowMilliseconds: t0 + 3_000, limit: 10).first { $0.type == "delivery.overdue" })
                let json = try JSONParser.parse(job.canonical)
                #expect(json["id"]?.stringValue == "late:overdue" && json["time"]?.stringValue == Timestamp.format(epochMilliseconds: t0 + 2_000))
                #expect(json["data"]?["expected_within_seconds"] == .integer(2) && json["data"]?["status"]?.stringValue == "overdue")
                #expect(json["data"]?["progress"] == MessageProgress(advanced: false, previous: "sent").json)
                // A second scan's copy (another instance, a restart) is a duplicate.
                #expect(try await store.ingestEvents(Sample.ledgerRequest([overdue], at: t0 + 2_200)) == [.duplicate])
                // A receipt after the deadline still advances the message.
                let receipt = try await Self.progress(store, Sample.status("late", "delivered"), at: t0 + 5_000, expectReceipt: 2_000)
                #expect(receipt.progress == MessageProgress(advanced: true, previous: "sent"))
            }
        }

        /// SPEC section 10a: registered keys wait for their delivery; one that never comes is overdue, one that came
        /// before the registration meets it at once, and registering twice is one expectation.
        @Test(arguments: StoreKind.testable)
        func expectedDeliveriesAreMetOrBecomeOverdue(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let t0 = Sample.now
                _ = try await store.ingestEvents(Sample.lineRequest([Sample.lineDelivery("early")], at: t0 - 1_000))
                #expect(try await store.expect(Sample.expectations(["tag-1", "tag-2", "tag-3", "early", "tag-1"])) == ExpectationResult(registered: 3, alreadyMet: 1))
                // Again, later: the same three expectations, their first deadline kept.
                #expect(try await store.expect(Sample.expectations(["tag-1", "tag-2", "tag-3"], within: 60_000, at: t0 + 500)) == ExpectationResult(registered: 3, alreadyMet: 0))
                let delivered = try await store.ingestEvents(Sample.lineRequest([Sample.lineDelivery("tag-1"), Sample.lineDelivery("tag-2")], at: t0 + 1_000))
                #expect(delivered.map(\.progress) == [MessageProgress(advanced: true, previous: nil), MessageProgress(advanced: true, previous: nil)])
                #expect(try await store.dueOverdue(nowMilliseconds: t0 + 1_999, limit: 10).isEmpty)
                let due = try await store.dueOverdue(nowMilliseconds: t0 + 2_000, limit: 10)
                #expect(due.map(\.messageID) == ["tag-3"] && due.first?.status == nil && due.first?.expectWithinMilliseconds == 2_000)
                let record = try #require(try await store.message(sourceID: "line", messageID: "tag-1"))
                #expect(record.status == "delivered" && record.channelStatuses.map(\.channel) == ["line"] && record.overdueAtMilliseconds == nil)
                // Met after the fact by a delivery past the deadline: it still advances.
                _ = try await store.ingestEvents(Sample.lineRequest([Sample.lineDelivery("tag-3")], at: t0 + 5_000))
                #expect(try await store.message(sourceID: "line", messageID: "tag-3")?.status == "delivered")
            }
        }

        /// Two stores on one database registering the same keys at once hold one expectation per key.
        @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
        func expectationsRegisteredOnTwoInstancesAtOnceAreOne() async throws {
            let url = try await TestPostgres.shared.makeDatabase()
            let first = try PostgresStore(url: url, jobClock: .caller)
            let second = try PostgresStore(url: url, jobClock: .caller)
            try await first.serving {
                try await second.serving {
                    let keys = (0..<200).map { "k-\($0)" }
                    let results = try await withThrowingTaskGroup(of: ExpectationResult.self) { group in
                        for store in [first, second, first, second] { group.addTask { try await store.expect(Sample.expectations(keys.shuffled())) } }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    #expect(results.allSatisfy { $0 == ExpectationResult(registered: 200, alreadyMet: 0) })
                    #expect(try await second.dueOverdue(nowMilliseconds: Sample.now + 2_000, limit: 1_000).count == 200)
                }
            }
        }

        @Test(arguments: StoreKind.testable)
        func ledgersExpireAfterTheirWindow(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                _ = try await store.ingestEvents(Sample.ledgerRequest([Sample.status("old", "sent")], at: Sample.now))
                _ = try await store.ingestEvents(Sample.ledgerRequest([Sample.status("new", "sent")], at: Sample.now + Sample.day))
                #expect(try await store.expireMessages(nowMilliseconds: Sample.now + 14 * Sample.day, limit: 10) == 1)
                #expect(try await store.message(sourceID: "eightxeight", messageID: "old") == nil)
                #expect(try await store.message(sourceID: "eightxeight", messageID: "new") != nil)
            }
        }

        /// `delivered` and `read` of one message stored at once, many times over: each message ends `read`, and its
        /// two events were applied one after the other (one of them saw the other's result), never both against the
        /// same old row, which is what a lost update would look like.
        @Test(arguments: StoreKind.testable)
        func concurrentReceiptsOfOneMessageLoseNoUpdate(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let rounds = 40
                for round in 0..<rounds {
                    _ = try await store.ingestEvents(Sample.ledgerRequest([Sample.status("c-\(round)", "queued")]))
                }
                try await Self.race(rounds: rounds, stores: [store, store])
                try await Self.checkRaced(rounds: rounds, store: store)
            }
        }

        /// The same with two stores on one PostgreSQL database, as two relay instances have.
        @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
        func concurrentReceiptsOnTwoInstancesLoseNoUpdate() async throws {
            let url = try await TestPostgres.shared.makeDatabase()
            let first = try PostgresStore(url: url, jobClock: .caller)
            let second = try PostgresStore(url: url, jobClock: .caller)
            try await first.serving {
                try await second.serving {
                    let rounds = 40
                    for round in 0..<rounds {
                        _ = try await first.ingestEvents(Sample.ledgerRequest([Sample.status("c-\(round)", "queued")]))
                    }
                    try await Self.race(rounds: rounds, stores: [first, second])
                    try await Self.checkRaced(rounds: rounds, store: second)
                }
            }
        }

        static func race(rounds: Int, stores: [any Store]) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<rounds {
                    // Each store takes either receipt in turn.
                    let (one, other) = round.isMultiple(of: 2) ? (stores[0], stores[1]) : (stores[1], stores[0])
                    group.addTask { _ = try await one.ingestEvents(Sample.ledgerRequest([Sample.status("c-\(round)", "delivered")])) }
                    group.addTask { _ = try await other.ingestEvents(Sample.ledgerRequest([Sample.status("c-\(round)", "read")])) }
                }
                try await group.waitForAll()
            }
        }

        static func checkRaced(rounds: Int, store: any Store) async throws {
            var readFirst = 0
            for round in 0..<rounds {
                let record = try #require(try await store.message(sourceID: "eightxeight", messageID: "c-\(round)"))
                #expect(record.status == "read", "c-\(round)")
                #expect(record.history.count == 3, "c-\(round)")
                let byStatus = Dictionary(uniqueKeysWithValues: record.history.map { ($0.status, $0) })
                let read = try #require(byStatus["read"])
                let delivered = try #require(byStatus["delivered"])
                #expect(read.advanced, "c-\(round)")
                // Exactly one of the two moved the message past delivered... and only one order is possible per row.
                if delivered.advanced {
                    #expect(record.history.map(\.status) == ["queued", "delivered", "read"], "c-\(round)")
                } else {
                    readFirst += 1
                    #expect(record.history.map(\.status) == ["queued", "read", "delivered"], "c-\(round)")
                }
            }
            print("concurrent receipts: \(rounds) messages, read stored first in \(readFirst), delivered first in \(rounds - readFirst)")
        }
    }
}
