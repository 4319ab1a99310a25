import Synchronization

/// Back-off for wrong admin tokens, per client address, shared by the console's sign-in and the admin API's bearer
/// token (a guess on either counts, so neither is the cheap door).
///
/// An address gets `freeFailures` wrong tokens at full speed (a typo or two, a script with a stale token); after that
/// each failure locks it out for twice as long as the last, from `firstLock` up to `longestLock`. While locked, a token
/// is not even compared: the right one waits too, which is what stops a guesser. A success clears the address; one
/// that has not failed for `forgetAfter` starts afresh. The table holds at most `maxAddresses` (the least recent failure
/// goes first), so a spray of addresses costs a bounded amount of memory.
public final class SignInThrottle: Sendable {
    struct Entry {
        var failures: Int
        var lockedUntil: ContinuousClock.Instant?
        var lastFailure: ContinuousClock.Instant
    }

    static let freeFailures = 5
    static let firstLock: Duration = .seconds(1)
    static let longestLock: Duration = .seconds(60)
    static let forgetAfter: Duration = .seconds(15 * 60)
    static let maxAddresses = 10_000

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// How long `address` must wait before a token of its is compared; nil when it may try now.
    func wait(_ address: String, now: ContinuousClock.Instant = .now) -> Duration? {
        entries.withLock { entries in
            guard let until = entries[address]?.lockedUntil, until > now else { return nil }
            return now.duration(to: until)
        }
    }

    /// Records a wrong token from `address`: its failures so far and the lock-out it now has (nil while still free).
    @discardableResult
    func failed(_ address: String, now: ContinuousClock.Instant = .now) -> (failures: Int, lock: Duration?) {
        entries.withLock { entries in
            var entry = entries[address].flatMap { now - $0.lastFailure < Self.forgetAfter ? $0 : nil }
                ?? Entry(failures: 0, lockedUntil: nil, lastFailure: now)
            entry.failures += 1
            entry.lastFailure = now
            let lock = Self.lock(afterFailures: entry.failures)
            entry.lockedUntil = lock.map { now + $0 }
            if entries[address] == nil, entries.count >= Self.maxAddresses { Self.makeRoom(&entries, now: now) }
            entries[address] = entry
            return (entry.failures, lock)
        }
    }

    /// Clears `address` after a right token.
    func succeeded(_ address: String) {
        _ = entries.withLock { $0.removeValue(forKey: address) }
    }

    /// The lock-out after `failures` wrong tokens in a row: none for the first `freeFailures`, then 1 s, 2 s, 4 s, ...
    static func lock(afterFailures failures: Int) -> Duration? {
        let over = failures - freeFailures
        guard over > 0 else { return nil }
        let doublings = min(over - 1, 16)  // 2^16 s is far past the cap; the bound keeps the shift in range
        return min(firstLock * (1 << doublings), longestLock)
    }

    private static func makeRoom(_ entries: inout [String: Entry], now: ContinuousClock.Instant) {
        entries = entries.filter { now - $0.value.lastFailure < forgetAfter }
        if entries.count >= maxAddresses, let oldest = entries.min(by: { $0.value.lastFailure < $1.value.lastFailure })?.key {
            entries.removeValue(forKey: oldest)
        }
    }
}
