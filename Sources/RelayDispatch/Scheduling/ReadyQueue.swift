import RelayStore

/// Jobs claimed and not yet started, in claim order, and which of them an attempt may take now.
///
/// The policy is the destination's `ordering`. `fifo` takes a prefix. `subject` takes, from the front, jobs whose
/// subject has no attempt under way and none already taken for this attempt: one request never carries two events of
/// a subject, and two attempts of one never run at once. The store already lets only a subject's head be claimed,
/// so this is the second line, for the worker's own hands (a job claimed again after its claim lapsed, while the
/// attempt under the lapsed claim still runs here).
struct ReadyQueue {
    enum Policy: Sendable, Equatable {
        case fifo
        case subject
    }

    var policy: Policy
    private var jobs: [DeliveryJob] = []
    /// Subjects with an attempt under way, and how many.
    private var busy: [String: Int] = [:]

    init(policy: Policy) { self.policy = policy }

    var count: Int { jobs.count }
    var isEmpty: Bool { jobs.isEmpty }

    mutating func append(_ claimed: [DeliveryJob]) { jobs.append(contentsOf: claimed) }

    /// Takes every job (to release them).
    mutating func removeAll() -> [DeliveryJob] {
        defer { jobs.removeAll() }
        return jobs
    }

    /// Takes the jobs at the front for which `lapsing` holds (claims the worker held too long to start).
    mutating func removePrefix(while lapsing: (DeliveryJob) -> Bool) -> [DeliveryJob] {
        let prefix = jobs.prefix(while: lapsing)
        jobs.removeFirst(prefix.count)
        return Array(prefix)
    }

    /// Up to `limit` jobs for one attempt, as the policy allows; empty when none may start now.
    mutating func take(_ limit: Int) -> [DeliveryJob] {
        switch policy {
        case .fifo:
            let taken = Array(jobs.prefix(limit))
            jobs.removeFirst(taken.count)
            return taken
        case .subject:
            var taken: [DeliveryJob] = []
            var inBatch = Set<String>()
            var index = 0
            while index < jobs.count && taken.count < limit {
                if let subject = jobs[index].subject {
                    if busy[subject] != nil || !inBatch.insert(subject).inserted {
                        index += 1
                        continue
                    }
                }
                taken.append(jobs.remove(at: index))
            }
            return taken
        }
    }

    /// Puts jobs taken for an attempt that did not start back at the front, in their order.
    mutating func putBack(_ taken: [DeliveryJob]) { jobs.insert(contentsOf: taken, at: 0) }

    /// An attempt of `jobs` started / ended: their subjects are busy until it ends.
    mutating func started(_ started: [DeliveryJob]) {
        guard policy == .subject else { return }
        for case let subject? in started.map(\.subject) { busy[subject, default: 0] += 1 }
    }

    mutating func ended(_ ended: [DeliveryJob]) {
        for case let subject? in ended.map(\.subject) {
            guard let n = busy[subject] else { continue }
            busy[subject] = n > 1 ? n - 1 : nil
        }
    }
}
