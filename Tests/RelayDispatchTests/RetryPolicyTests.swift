import Foundation
import RelayCore
import RelayDispatch
import Testing

/// The retry schedule on its own: exact delays, jitter bounds, Retry-After parsing and its one-hour cap.
@Suite struct RetryPolicyTests {
    static let schedule: [Duration] = [.seconds(1), .seconds(10), .seconds(30), .seconds(90)]

    @Test func delaysFollowTheScheduleThenTheJobIsDead() {
        let policy = RetryPolicy(schedule: Self.schedule)
        for (attempts, expected) in zip(1..., Self.schedule) {
            #expect(policy.delay(afterAttempts: attempts) == expected)
        }
        #expect(policy.delay(afterAttempts: 5) == nil)
        #expect(policy.delay(afterAttempts: 50) == nil)
        #expect(policy.delay(afterAttempts: 0) == nil)
        #expect(RetryPolicy(schedule: [.milliseconds(100)]).delay(afterAttempts: 1) == .milliseconds(100))
        #expect(RetryPolicy(schedule: [.milliseconds(100)]).delay(afterAttempts: 2) == nil)
    }

    @Test func noJitterMeansTheExactScheduleEveryTime() {
        let policy = RetryPolicy(schedule: Self.schedule, jitter: 0)
        #expect((0..<100).allSatisfy { _ in policy.delay(afterAttempts: 2) == .seconds(10) })
    }

    @Test(arguments: [0.1, 0.5, 1.0])
    func jitterStaysWithinItsSpread(jitter: Double) {
        let policy = RetryPolicy(schedule: Self.schedule, jitter: jitter)
        for (attempts, base) in zip(1..., Self.schedule) {
            let samples = (0..<500).compactMap { _ in policy.delay(afterAttempts: attempts)?.milliseconds }
            #expect(samples.count == 500)
            let low = Int64((Double(base.milliseconds) * (1 - jitter)).rounded(.down))
            let high = Int64((Double(base.milliseconds) * (1 + jitter)).rounded(.up))
            #expect(samples.allSatisfy { (low...high).contains($0) }, "jitter \(jitter): \(samples.min()!)...\(samples.max()!) outside \(low)...\(high)")
            #expect(Set(samples).count > 10, "jitter \(jitter) does not spread the delays")
            // Spread both ways around the configured delay.
            #expect(samples.contains { $0 < base.milliseconds } && samples.contains { $0 > base.milliseconds })
        }
        #expect(policy.delay(afterAttempts: 5) == nil)
    }

    @Test func retryAfterLongerThanTheScheduleWinsAndIsCappedAtAnHour() {
        let policy = RetryPolicy(schedule: Self.schedule)
        #expect(policy.delay(afterAttempts: 1, retryAfter: .seconds(5)) == .seconds(5))
        #expect(policy.delay(afterAttempts: 2, retryAfter: .seconds(5)) == .seconds(10), "a shorter Retry-After does not speed retries up")
        #expect(policy.delay(afterAttempts: 1, retryAfter: .seconds(3600)) == .seconds(3600))
        #expect(policy.delay(afterAttempts: 1, retryAfter: .seconds(7200)) == .seconds(3600))
        #expect(policy.delay(afterAttempts: 1, retryAfter: .seconds(86_400 * 365)) == RetryPolicy.maxRetryAfter)
        #expect(RetryPolicy.maxRetryAfter == .seconds(3600))
        #expect(policy.delay(afterAttempts: 4, retryAfter: .seconds(5)) == .seconds(90))
        #expect(policy.delay(afterAttempts: 5, retryAfter: .seconds(5)) == nil, "Retry-After does not extend the schedule")
        let jittered = RetryPolicy(schedule: [.seconds(1)], jitter: 0.5)
        #expect((0..<100).allSatisfy { _ in jittered.delay(afterAttempts: 1, retryAfter: .seconds(20)) == .seconds(20) })
    }

    @Test func retryAfterSeconds() {
        let now = Timestamp.nowMilliseconds()
        #expect(RetryPolicy.parseRetryAfter("120", nowMilliseconds: now) == .seconds(120))
        #expect(RetryPolicy.parseRetryAfter("0", nowMilliseconds: now) == .zero)
        #expect(RetryPolicy.parseRetryAfter(" 7 ", nowMilliseconds: now) == .seconds(7))
        for bad in ["", "-1", "1.5", "soon", "12abc", "0x10"] {
            #expect(RetryPolicy.parseRetryAfter(bad, nowMilliseconds: now) == nil, "\"\(bad)\"")
        }
    }

    @Test func retryAfterHTTPDate() {
        // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 s since the epoch.
        let date = "Wed, 21 Oct 2015 07:28:00 GMT"
        let at: Int64 = 1_445_412_480_000
        #expect(RetryPolicy.parseRetryAfter(date, nowMilliseconds: at - 30_000) == .seconds(30))
        #expect(RetryPolicy.parseRetryAfter(date, nowMilliseconds: at - 1_500) == .milliseconds(1_500))
        #expect(RetryPolicy.parseRetryAfter(date, nowMilliseconds: at) == nil, "a date now or past means no extra wait")
        #expect(RetryPolicy.parseRetryAfter(date, nowMilliseconds: at + 60_000) == nil)
        #expect(RetryPolicy.parseRetryAfter("Wed, 32 Oct 2015 07:28:00 GMT", nowMilliseconds: at - 30_000) == nil)
        // A far-future date parses; the policy then caps it at an hour.
        let far = RetryPolicy.parseRetryAfter(date, nowMilliseconds: at - 86_400_000)
        #expect(far == .seconds(86_400))
        #expect(RetryPolicy(schedule: [.seconds(1)]).delay(afterAttempts: 1, retryAfter: far) == .seconds(3600))
    }
}
