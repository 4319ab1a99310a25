import RelayCore
import RelayStore

/// What one destination's worker should do next, as a pure state machine: no clock of its own (every call is given
/// `now`), no tasks, no store. The worker's run loop feeds it what happened (a claim came back, an attempt ended, the
/// bell rang) and carries out the actions it answers. Tests drive it with instants they choose.
///
/// It keeps `concurrency` attempts running and, behind them, a reserve of jobs already claimed, so a slot that frees up
/// starts its next attempt at once instead of waiting for a claim's commit. With `batch` set, a free slot takes up to
/// `batch` of the jobs in hand as one request: batches fill only while every slot is busy, so a quiet destination
/// still gets each event at once, alone. A pause or an open circuit starts nothing and hands the jobs in hand back; the
/// rate cap spaces starts; a job held so long that its claim could lapse before its attempt ends goes back unstarted.
struct DeliveryScheduler {
    /// The destination's settings that scheduling reads (from the live configuration, each turn).
    struct Settings: Equatable {
        var concurrency: Int
        var batch: Int?
        var rate: Double?
        var timeout: Duration
        /// `store.lease`: a claim holds its jobs for the timeout plus this.
        var lease: Duration
        var ordering: DeliveryOrdering = .none

        init(concurrency: Int, batch: Int? = nil, rate: Double? = nil, timeout: Duration, lease: Duration, ordering: DeliveryOrdering = .none) {
            self.concurrency = concurrency
            self.batch = batch
            self.rate = rate
            self.timeout = timeout
            self.lease = lease
            self.ordering = ordering
        }
    }

    /// What may start now, from the pauses and the circuit.
    enum Admission: Equatable {
        case open
        /// Nothing starts; `for` is how long until that may change by itself (nil: only an event changes it).
        case blocked(for: Duration?)
        /// The circuit's cooldown is over: one probe may start.
        case probeDue
    }

    enum Action {
        /// Give these claims back to the store, unstarted.
        case release([JobClaim])
        /// Start one attempt (one request) for these jobs; `probe`: the circuit's probe.
        case attempt([DeliveryJob], probe: Bool)
        /// Claim up to this many due jobs.
        case claim(limit: Int)
        /// Wait for the bell, at most `blockedFor` (when set) and the next retry; `askStore`: also the store's next
        /// due time (only worth a read when nothing is in flight or blocked).
        case wait(blockedFor: Duration?, askStore: Bool)
        /// Wake when the rate cap has a slot again.
        case rateSlotIn(Duration)
    }

    /// Jobs claimed ahead of free slots (at least; `concurrency` × `batch` when larger): at 10,000 attempts/s, 100 cover
    /// 10 ms.
    static let minimumReserve = 100
    /// The most jobs one claim takes (one commit's worth), however large `concurrency` times `batch` is.
    static let maximumClaim = 2_000

    private(set) var ready: ReadyQueue
    /// Attempts (requests) under way, and the jobs they carry.
    private(set) var inFlight = 0
    private(set) var jobsInFlight = 0
    private var claiming = false
    private var waiting = false
    /// A claim may find jobs: at start, after a full claim, after the bell or a release.
    private var moreDue = true
    private var rateTicking = false
    /// When the rate cap next has a slot (nil: now).
    private var nextRateSlot: ContinuousClock.Instant?

    init(ordering: DeliveryOrdering = .none) {
        ready = ReadyQueue(policy: ordering == .subject ? .subject : .fifo)
    }

    // MARK: What happened

    mutating func claimed(_ jobs: [DeliveryJob], asked: Int) {
        claiming = false
        ready.append(jobs)
        if jobs.count == asked { moreDue = true }
    }

    mutating func attemptEnded(_ jobs: [DeliveryJob]) {
        inFlight -= 1
        jobsInFlight -= jobs.count
        ready.ended(jobs)
    }

    mutating func released() { moreDue = true }

    mutating func woken() {
        waiting = false
        moreDue = true
    }

    mutating func rateSlotFreed() { rateTicking = false }

    /// The jobs in hand at the end, for release; the scheduler is spent.
    mutating func drain() -> [JobClaim] { ready.removeAll().map(\.claim) }

    // MARK: What to do

    /// The actions for now, given the destination's settings and what the pauses and circuit allow.
    mutating func next(now: ContinuousClock.Instant, settings: Settings, admission: Admission) -> [Action] {
        var actions: [Action] = []
        let ordering: ReadyQueue.Policy = settings.ordering == .subject ? .subject : .fifo
        if ready.policy != ordering { ready.policy = ordering }  // a reload; the store keeps the order of jobs made before
        var startable = Int.max
        var probe = false
        var blockedFor: Duration?
        switch admission {
        case .open: break
        case .blocked(let wait):
            startable = 0
            blockedFor = wait
        case .probeDue:
            startable = 1
            probe = true
        }
        if startable == 0 && !ready.isEmpty {
            // Back to pending, schedules untouched, for when the destination may be attempted again.
            actions.append(.release(ready.removeAll().map(\.claim)))
        }
        let concurrency = probe ? 1 : settings.concurrency
        let perAttempt = settings.batch ?? 1
        // Jobs held so long that their claim could lapse before an attempt ends go back unstarted: once it lapses
        // another instance may attempt them, and two attempts at once is what the lease rules out.
        let lapsing = ready.removePrefix { Self.mayLapse($0, timeout: settings.timeout, lease: settings.lease, now: now) }
        if !lapsing.isEmpty { actions.append(.release(lapsing.map(\.claim))) }
        var started = 0
        var rateWait: Duration?
        while inFlight < concurrency && started < startable {
            let jobs = ready.take(perAttempt)
            if jobs.isEmpty { break }
            if let wait = takeRateSlot(rate: settings.rate, now: now) {
                ready.putBack(jobs)
                rateWait = wait
                break
            }
            started += 1
            inFlight += 1
            jobsInFlight += jobs.count
            ready.started(jobs)
            actions.append(.attempt(jobs, probe: probe))
        }
        // Claim when the jobs in hand run low: enough for every slot plus a reserve that outlasts a commit.
        let queued = ready.count
        let capacity = concurrency * perAttempt
        // Rate-limited, a second's worth is enough in hand; a probe needs one.
        let reserve = probe ? 0 : settings.rate.map { max(1, Int($0.rounded(.up))) } ?? max(capacity, Self.minimumReserve)
        if !claiming && moreDue && startable > 0 && queued <= reserve / 2 {
            let limit = max(1, min(capacity + reserve - jobsInFlight - queued, Self.maximumClaim, probe ? 1 : Int.max))
            claiming = true
            moreDue = false
            actions.append(.claim(limit: limit))
        }
        // The bell (an ingest commit, a replay) or the next retry's due time; only one waiter at a time.
        if !claiming && !waiting {
            waiting = true
            actions.append(.wait(blockedFor: blockedFor, askStore: inFlight == 0 && startable > 0))
        }
        if let rateWait, !rateTicking {
            rateTicking = true
            actions.append(.rateSlotIn(rateWait))
        }
        return actions
    }

    /// Takes a start from the rate cap if one is free; otherwise says how long until the next is. A start a little late
    /// keeps the cadence; a cap idle for longer banks nothing: it restarts from now.
    private mutating func takeRateSlot(rate: Double?, now: ContinuousClock.Instant) -> Duration? {
        guard let rate, rate > 0 else { return nil }
        let interval = Duration.nanoseconds(Int64(1e9 / rate))
        let slot = nextRateSlot ?? now
        if slot > now { return slot - now }
        nextRateSlot = (slot < now - interval ? now : slot) + interval
        return nil
    }

    /// Whether `job`'s claim could lapse before an attempt started now ends (its timeout, and a quarter of the lease
    /// for recording the outcome). Judged on the monotonic clock (`leaseEnd`): the lease itself is the store's, and this
    /// host's wall clock may be minutes off it.
    static func mayLapse(_ job: DeliveryJob, timeout: Duration, lease: Duration, now: ContinuousClock.Instant) -> Bool {
        now + timeout + lease / 4 > job.leaseEnd
    }
}
