/// A destination's circuit (SPEC section 12): after `failures` consecutive attempts that speak of the destination's
/// health, no job is attempted for `cooldown`, then one is, as a probe; each failed probe doubles the cooldown up to
/// `maxCooldown`.
public struct BreakerSettings: Sendable, Equatable, CustomStringConvertible {
    public var failures: Int
    public var cooldown: Duration
    public var maxCooldown: Duration

    public static let defaultFailures = 5
    public static let defaultCooldown: Duration = .seconds(10)
    public static let defaultMaxCooldown: Duration = .seconds(300)

    public init(failures: Int = Self.defaultFailures, cooldown: Duration = Self.defaultCooldown, maxCooldown: Duration = Self.defaultMaxCooldown) {
        self.failures = failures
        self.cooldown = cooldown
        self.maxCooldown = maxCooldown
    }

    /// `after 5 failures, cooldown 10s to 5m`.
    public var description: String {
        "after \(failures) failures, cooldown \(DurationText.format(cooldown)) to \(DurationText.format(maxCooldown))"
    }
}

/// `rate` values: `50/s` or `600/m`, as attempts per second.
public enum RateText {
    /// Attempts per second; nil unless `<positive number>/s` or `/m`.
    public static func parse(_ text: String) -> Double? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Double(parts[0]), count.isFinite, count > 0,
              parts[0].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
        switch parts[1] {
        case "s": return count
        case "m": return count / 60
        default: return nil
        }
    }

    /// `20/s`, or `/m` when that is whole and the per-second value is not.
    public static func format(_ perSecond: Double) -> String {
        if perSecond == perSecond.rounded() { return "\(Int(perSecond))/s" }
        let perMinute = perSecond * 60
        if abs(perMinute - perMinute.rounded()) < 1e-9 { return "\(Int(perMinute.rounded()))/m" }
        return "\(perSecond)/s"
    }
}
