/// Converts between `Duration` and config text such as `100ms`, `1.5s`, `10m`, `7d`.
public enum DurationText: Sendable {
    /// Unit suffixes and their length in nanoseconds, largest first.
    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("m", 60_000_000_000),
        ("s", 1_000_000_000), ("ms", 1_000_000),
    ]

    /// Parses an integer or decimal with unit `ms`, `s`, `m`, `h` or `d`; nil without a unit, on other units, or on overflow.
    public static func parse(_ text: String) -> Duration? {
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let suffix = text.dropFirst(number.count)
        guard let factor = units.first(where: { $0.suffix == suffix })?.nanoseconds else { return nil }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        // "1." and ".5" are rejected: they are almost always typos, and strictness keeps the format simple.
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }), let whole = Int64(parts[0]) else { return nil }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        var nanoseconds = scaled
        if parts.count == 2 {
            // Digit by digit keeps decimal fractions exact down to the nanosecond (no floating point).
            var place = factor
            for digit in parts[1] {
                place /= 10
                guard place > 0 else { break }
                let (sum, overflow) = nanoseconds.addingReportingOverflow(Int64(digit.wholeNumberValue ?? 0) * place)
                guard !overflow else { return nil }
                nanoseconds = sum
            }
        }
        return .nanoseconds(nanoseconds)
    }

    /// Shortest exact text: whole days/hours/minutes/seconds when possible, else decimal seconds, else milliseconds.
    public static func format(_ duration: Duration) -> String {
        let nanoseconds = totalNanoseconds(duration)
        if nanoseconds < 0 { return "-" + format(.nanoseconds(-nanoseconds)) }
        if nanoseconds == 0 { return "0s" }
        for unit in units.dropLast() where nanoseconds % unit.nanoseconds == 0 {
            return "\(nanoseconds / unit.nanoseconds)\(unit.suffix)"
        }
        if nanoseconds >= 1_000_000_000 { return decimal(nanoseconds, per: 1_000_000_000, digits: 9) + "s" }
        return decimal(nanoseconds, per: 1_000_000, digits: 6) + "ms"
    }

    /// Whole nanoseconds in `duration`, saturating instead of trapping for absurd values.
    static func totalNanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds < 0 ? .min : .max) : sum
    }

    private static func decimal(_ value: Int64, per unit: Int64, digits: Int) -> String {
        var fraction = String(value % unit)
        fraction = String(repeating: "0", count: digits - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(value / unit)" : "\(value / unit).\(fraction)"
    }
}
