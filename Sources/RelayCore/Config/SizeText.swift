/// Converts between byte counts and config text such as `512KiB`, `1MiB` or a bare `1048576`.
public enum SizeText: Sendable {
    /// Unit suffixes and their size in bytes, largest first.
    private static let units: [(suffix: String, bytes: Int)] = [
        ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1),
    ]

    /// Parses an integer with `B`, `KiB`, `MiB`, `GiB`, or a bare integer of bytes; nil otherwise or on overflow.
    public static func parse(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let suffix = text.dropFirst(digits.count)
        guard !digits.isEmpty, let value = Int(digits) else { return nil }
        let factor = suffix.isEmpty ? 1 : units.first(where: { $0.suffix == suffix })?.bytes
        guard let factor else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }

    /// The largest binary unit that represents `bytes` exactly, e.g. `1MiB`, `1536KiB`, `100B`.
    public static func format(_ bytes: Int) -> String {
        for unit in units where bytes != 0 && bytes % unit.bytes == 0 {
            return "\(bytes / unit.bytes)\(unit.suffix)"
        }
        return "\(bytes)B"
    }
}
