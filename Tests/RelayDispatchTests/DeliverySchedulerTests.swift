@testable import RelayDispatch
import RelayCore
import RelayStore
import Testing

/// The worker's scheduling as a pure state machine, driven with instants the test chooses: no sleeps, no store,
/// no HTTP. Each case feeds it what happened and checks the actions it answers.
@Suite("Delivery scheduler")
struct DeliverySchedulerTests {
    static let t0 = ContinuousClock.now
    static let settings = DeliveryScheduler.Settings(concurrency: 2, timeout: .seconds(10), lease: .seconds(30))

    static func job(_ id: Int64, subject: String? = nil, leaseEnd: ContinuousClock.Instant = t0 + .seconds(40)) -> DeliveryJob {
        var job = DeliveryJob(id: id, destination: "crm", attempts: 0, eventID: "e\(id)", sourceID: "line", provider: .line,
                              type: "delivery.delivered", canonical: [], passthrough: nil, subject: subject, lease: id)
        job.leaseEnd = leaseEnd
        return job
    }

    static func attempts(_ actions: [DeliveryScheduler.Action]) -> [[Int64]] {
        actions.compactMap { if case .attempt(let jobs, _) = $0 { return jobs.map(\.id) } else { return nil } }
    }

    static func claimLimit(_ actions: [DeliveryScheduler.Action]) -> Int? {
        actions.lazy.compactMap { if case .claim(let limit) = $0 { return limit } else { return nil } }.first
    }

    static func released(_ actions: [DeliveryScheduler.Action]) -> [Int64] {
        actions.flatMap { if case .release(let claims) = $0 { return claims.map(\.jobID) } else { return [] } }
    }

    @Test func claimsFirstThenFillsEverySlotAndKeepsAReserve() {
        var scheduler = DeliveryScheduler()
        var actions = scheduler.next(now: Self.t0, settings: Self.settings, admission: .open)
        // Nothing in hand: one claim for the slots and the reserve, and no waiter while it runs.
        #expect(Self.claimLimit(actions) == 2 + DeliveryScheduler.minimumReserve)
        #expect(Self.attempts(actions).isEmpty)
        scheduler.claimed((1...5).map { Self.job($0) }, asked: 102)
        actions = scheduler.next(now: Self.t0, settings: Self.settings, admission: .open)
        #expect(Self.attempts(actions) == [[1], [2]], "one attempt per slot, in claim order")
        // A partial claim found everything due: no claim until the bell or a slot frees up.
        #expect(Self.claimLimit(actions) == nil)
        #expect(actions.contains { if case .wait(nil, askStore: false) = $0 { return true } else { return false } })
        scheduler.attemptEnded([Self.job(1)])
        actions = scheduler.next(now: Self.t0, settings: Self.settings, admission: .open)
        #expect(Self.attempts(actions) == [[3]], "a freed slot takes the next job at once")
    }

    @Test func batchesFillOnlyWhileEverySlotIsBusy() {
        var scheduler = DeliveryScheduler()
        var settings = Self.settings
        settings.batch = 3
        _ = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        scheduler.claimed([Self.job(1)], asked: 10)
        #expect(Self.attempts(scheduler.next(now: Self.t0, settings: settings, admission: .open)) == [[1]])
        scheduler.claimed((2...9).map { Self.job($0) }, asked: 10)
        #expect(Self.attempts(scheduler.next(now: Self.t0, settings: settings, admission: .open)) == [[2, 3, 4]])
    }

    @Test func thePauseOrAnOpenCircuitStartsNothingAndHandsTheJobsBack() {
        var scheduler = DeliveryScheduler()
        _ = scheduler.next(now: Self.t0, settings: Self.settings, admission: .open)
        scheduler.claimed((1...4).map { Self.job($0) }, asked: 102)
        let actions = scheduler.next(now: Self.t0, settings: Self.settings, admission: .blocked(for: .seconds(5)))
        #expect(Self.attempts(actions).isEmpty)
        #expect(Self.released(actions) == [1, 2, 3, 4])
        #expect(Self.claimLimit(actions) == nil, "no claim while blocked")
        #expect(actions.contains { if case .wait(.seconds(5), askStore: false) = $0 { return true } else { return false } })
    }

    @Test func aProbeIsOneAttemptOfOneJob() {
        var scheduler = DeliveryScheduler()
        var actions = scheduler.next(now: Self.t0, settings: Self.settings, admission: .probeDue)
        #expect(Self.claimLimit(actions) == 1)
        scheduler.claimed([Self.job(1)], asked: 1)
        actions = scheduler.next(now: Self.t0, settings: Self.settings, admission: .probeDue)
        #expect(actions.contains { if case .attempt(let jobs, probe: true) = $0 { return jobs.map(\.id) == [1] } else { return false } })
    }

    @Test func theRateCapSpacesStartsOnTheGivenClock() {
        var scheduler = DeliveryScheduler()
        var settings = Self.settings
        settings.concurrency = 8
        settings.rate = 10  // one start per 100 ms
        _ = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        scheduler.claimed((1...5).map { Self.job($0) }, asked: 10)
        var actions = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        #expect(Self.attempts(actions) == [[1]])
        #expect(actions.contains { if case .rateSlotIn(.milliseconds(100)) = $0 { return true } else { return false } })
        // 40 ms later: still 60 ms to wait, and only one timer at a time.
        actions = scheduler.next(now: Self.t0 + .milliseconds(40), settings: settings, admission: .open)
        #expect(Self.attempts(actions).isEmpty)
        #expect(!actions.contains { if case .rateSlotIn = $0 { return true } else { return false } })
        scheduler.rateSlotFreed()
        actions = scheduler.next(now: Self.t0 + .milliseconds(100), settings: settings, admission: .open)
        #expect(Self.attempts(actions) == [[2]])
        #expect(actions.contains { if case .rateSlotIn(.milliseconds(100)) = $0 { return true } else { return false } })
    }

    @Test func jobsWhoseClaimCouldLapseGoBackUnstarted() {
        var scheduler = DeliveryScheduler()
        var settings = Self.settings
        settings.concurrency = 1
        _ = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        // Claimed with 40 s of lease: an attempt may take 10 s and recording it a quarter of the 30 s lease.
        scheduler.claimed((1...3).map { Self.job($0) }, asked: 101)
        _ = scheduler.next(now: Self.t0, settings: settings, admission: .open)  // job 1 starts
        let actions = scheduler.next(now: Self.t0 + .seconds(23), settings: settings, admission: .open)
        #expect(Self.released(actions) == [2, 3], "held 23 s: an attempt started now could outlive the claim")
    }

    @Test func orderedQueueNeverPutsTwoJobsOfASubjectInOneRequestOrInFlightTogether() {
        var scheduler = DeliveryScheduler(ordering: .subject)
        var settings = Self.settings
        settings.ordering = .subject
        settings.concurrency = 1
        settings.batch = 10
        _ = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        scheduler.claimed([Self.job(1, subject: "a"), Self.job(2, subject: "a"), Self.job(3, subject: "b"), Self.job(4), Self.job(5, subject: "b")], asked: 110)
        var actions = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        #expect(Self.attempts(actions) == [[1, 3, 4]])
        settings.concurrency = 2
        actions = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        #expect(Self.attempts(actions).isEmpty, "a and b are in flight: 2 and 5 wait")
        scheduler.attemptEnded([Self.job(1, subject: "a"), Self.job(3, subject: "b"), Self.job(4)])
        actions = scheduler.next(now: Self.t0, settings: settings, admission: .open)
        #expect(Self.attempts(actions) == [[2, 5]])
    }
}
