import RelayCore
import RelayStore
import RelayTestSupport
import Testing

/// The ledger's rules on their own (SPEC section 10): the provider's ranking, advancing within and across channels,
/// statuses that never advance, and the overdue clock.
@Suite("Receipt ledger rules")
struct MessageRecordTests {
    /// Every state SPEC section 10 names (with its details), `unknown`, and one 8x8 has not invented yet.
    static let states: [(state: String, detail: String?, rank: Int?)] = [
        ("queued", nil, 1), ("sent", nil, 2), ("delivered", "delivered_to_operator", 3),
        ("delivered", "delivered_to_recipient", 4), ("delivered", nil, 4), ("undelivered", "rejected_by_operator", 4),
        ("undelivered", "undelivered_to_recipient", 4), ("undelivered", nil, 4), ("failed", nil, 4), ("rejected", nil, 4),
        ("read", nil, 5), ("unknown", nil, nil), ("recalled_by_sender", nil, nil),
    ]

    static func report(_ state: String, _ detail: String? = nil, channel: String = "whatsapp") throws -> StatusReport {
        let body = EightByEightBodies.status(umid: "m-1", state: state, detail: detail, channel: channel)
        let event = try #require(try EightByEightProvider().events(from: Array(body.utf8), sourceID: "eightxeight", receivedAtMilliseconds: 1_000).first)
        return try #require(event.status)
    }

    static func apply(_ record: inout MessageRecord, _ report: StatusReport, at now: Int64 = 1_000, expect: Int64? = nil) -> MessageProgress {
        record.apply(report, eventID: "e\(record.history.count)", timeMilliseconds: now, receivedAtMilliseconds: now,
                     expectWithinMilliseconds: expect, expiresAtMilliseconds: now + 10_000)
    }

    static func fresh() -> MessageRecord { MessageRecord(sourceID: "eightxeight", messageID: "m-1", expiresAtMilliseconds: 0) }

    @Test func theProvidersRankingIsSPECsTable() throws {
        for (state, detail, rank) in Self.states {
            #expect(try Self.report(state, detail).rank == rank, "\(state) \(detail ?? "")")
        }
        // Upper case from the provider ranks the same (states are lower-cased when normalized).
        #expect(try Self.report("READ").rank == 5)
    }

    /// Every ordered pair in one channel: the second advances exactly when it ranks higher than the first.
    @Test func everyPairInOneChannel() throws {
        for first in Self.states {
            for second in Self.states {
                var record = Self.fresh()
                let one = Self.apply(&record, try Self.report(first.state, first.detail))
                #expect(one.advanced == (first.rank != nil) && one.previous == nil)
                let two = Self.apply(&record, try Self.report(second.state, second.detail))
                let expected = (second.rank ?? 0) > (first.rank ?? 0) && second.rank != nil
                #expect(two.advanced == expected, "\(first) then \(second)")
                #expect(two.previous == (first.rank == nil ? nil : first.state), "\(first) then \(second)")
                #expect(record.status == (expected ? second.state : first.rank == nil ? nil : first.state), "\(first) then \(second)")
                #expect(record.history.map(\.advanced) == [one.advanced, two.advanced])
            }
        }
    }

    @Test func aFallbackChannelsDeliveredAdvancesButItsEarlierStepsDoNot() throws {
        var record = Self.fresh()
        #expect(Self.apply(&record, try Self.report("queued")) == MessageProgress(advanced: true, previous: nil))
        #expect(Self.apply(&record, try Self.report("undelivered", "rejected_by_operator")) == MessageProgress(advanced: true, previous: "queued"))
        #expect(Self.apply(&record, try Self.report("queued", channel: "SMS")) == MessageProgress(advanced: false, previous: "undelivered"))
        #expect(Self.apply(&record, try Self.report("sent", channel: "sms")) == MessageProgress(advanced: false, previous: "undelivered"))
        #expect(Self.apply(&record, try Self.report("delivered", channel: "sms")) == MessageProgress(advanced: true, previous: "undelivered"))
        #expect(record.status == "delivered" && record.statusChannel == "sms")
        #expect(record.channelStatuses.map { "\($0.channel)=\($0.status)" } == ["whatsapp=undelivered", "sms=delivered"])
        // A late copy on the first channel changes nothing.
        #expect(Self.apply(&record, try Self.report("delivered", "delivered_to_operator")) == MessageProgress(advanced: false, previous: "delivered"))
        #expect(record.history.count == 6)
    }

    @Test func unknownAndFutureStatesNeverAdvanceAndAreKept() throws {
        var record = Self.fresh()
        #expect(Self.apply(&record, try Self.report("unknown")) == MessageProgress(advanced: false, previous: nil))
        #expect(Self.apply(&record, try Self.report("sent")) == MessageProgress(advanced: true, previous: nil))
        #expect(Self.apply(&record, try Self.report("recalled_by_sender")) == MessageProgress(advanced: false, previous: "sent"))
        #expect(record.status == "sent" && record.rank == 2)
        #expect(record.history.map(\.status) == ["unknown", "sent", "recalled_by_sender"])
    }

    @Test func theOverdueClockStartsAtTheFirstEventAndStopsPastSent() throws {
        var waiting = Self.fresh()
        _ = Self.apply(&waiting, try Self.report("queued"), at: 5_000, expect: 2_000)
        _ = Self.apply(&waiting, try Self.report("sent"), at: 6_000, expect: 2_000)
        #expect(waiting.overdueAtMilliseconds == 7_000 && waiting.expectWithinMilliseconds == 2_000)
        _ = Self.apply(&waiting, try Self.report("delivered", "delivered_to_operator"), at: 6_500, expect: 2_000)
        #expect(waiting.overdueAtMilliseconds == nil)

        var deliveredFirst = Self.fresh()
        _ = Self.apply(&deliveredFirst, try Self.report("delivered"), at: 5_000, expect: 2_000)
        #expect(deliveredFirst.overdueAtMilliseconds == nil)

        var notWaited = Self.fresh()
        _ = Self.apply(&notWaited, try Self.report("queued"), at: 5_000)
        #expect(notWaited.overdueAtMilliseconds == nil)
    }

    @Test func progressIsWrittenIntoTheCanonicalBody() throws {
        let body = EightByEightBodies.status(umid: "m-1", state: "read")
        let event = try #require(try EightByEightProvider().events(from: Array(body.utf8), sourceID: "eightxeight", receivedAtMilliseconds: 1_000).first)
        for progress in [MessageProgress(advanced: true, previous: "delivered"), MessageProgress(advanced: false, previous: nil)] {
            let json = try JSONParser.parse(event.canonical(with: progress))
            #expect(json["data"]?["progress"] == progress.json)
            // Everything else is as normalized.
            var data = try #require(json["data"]?.objectValue)
            data.members.removeAll { $0.key == "progress" }
            #expect(JSONValue.object(data) == (try JSONParser.parse(event.canonical))["data"])
        }
        // An event outside the ledger has no place for it and is left as it was.
        let sample = try #require(EightByEightProvider().sampleBody("8x8-inbound"))
        let inbound = try #require(try EightByEightProvider().events(from: sample, sourceID: "eightxeight", receivedAtMilliseconds: 1_000).first)
        #expect(inbound.status == nil)
        #expect(inbound.canonical(with: MessageProgress(advanced: true, previous: nil)) == inbound.canonical)
    }
}
