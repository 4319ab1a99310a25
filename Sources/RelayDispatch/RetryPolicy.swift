import Foundation
import RelayCore

/// When to try a failed job again: the configured delays after attempts 1, 2, ..., optional jitter, and a
/// longer `Retry-After` honoured up to an hour.
public struct RetryPolicy: Sendable {
    public var schedule: [Duration]
    /// Fraction (0...1) by which each delay may be spread either way.
    public var jitter: Double
    public static let maxRetryAfter: Duration = .seconds(3600)

    public init(schedule: [Duration], jitter: Double = 0) {
        self.schedule = schedule
        self.jitter = jitter
    }

    /// The delay before the next attempt after `attempts` attempts, or nil when the job is now dead.
    public func delay(afterAttempts attempts: Int, retryAfter: Duration? = nil) -> Duration? {
        guard attempts >= 1, attempts <= schedule.count else { return nil }
        var delay = schedule[attempts - 1]
        if jitter > 0 {
            let spread = Double(delay.milliseconds) * jitter
            delay = .milliseconds(Int64(max(0, Double(delay.milliseconds) + Double.random(in: -spread...spread))))
        }
        if let retryAfter, retryAfter > delay { delay = min(retryAfter, Self.maxRetryAfter) }
        return delay
    }

    /// `Retry-After` as seconds or an HTTP date, relative to `now` (unix milliseconds).
    public static func parseRetryAfter(_ value: String, nowMilliseconds: Int64) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(trimmed), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        let ms = Int64(date.timeIntervalSince1970 * 1000) - nowMilliseconds
        return ms > 0 ? .milliseconds(ms) : nil
    }
}
