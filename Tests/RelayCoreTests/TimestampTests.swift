import RelayCore
import Testing

/// RFC 3339 as providers send it (0 to 7 fractional digits, any offset) and as relay writes it.
@Suite("Timestamp")
struct TimestampTests {
    /// 2022-04-22T01:13:58Z.
    static let base: Int64 = 1_650_590_038_000

    static let parseCases: [(String, Int64)] = [
        ("2022-04-22T01:13:58Z", base),
        ("2022-04-22T01:13:58.7Z", base + 700),
        ("2022-04-22T01:13:58.72Z", base + 720),
        ("2022-04-22T01:13:58.721Z", base + 721),
        ("2022-04-22T01:13:58.7219Z", base + 721),
        ("2022-04-22T01:13:58.72199Z", base + 721),
        ("2022-04-22T01:13:58.721999Z", base + 721),
        ("2022-04-22T01:13:58.0603089Z", base + 60),
        ("2022-04-22T01:13:58.000Z", base),
        ("2022-04-22T01:13:58.721z", base + 721),
        ("2022-04-22t01:13:58.721Z", base + 721),
        ("2022-04-22T10:13:58.721+09:00", base + 721),
        ("2022-04-21T19:43:58.721-05:30", base + 721),
        ("2022-04-22T01:13:58.721+00:00", base + 721),
        ("2022-04-22T01:13:58-00:00", base),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
    ]

    @Test(arguments: parseCases)
    func parses(text: String, milliseconds: Int64) {
        #expect(Timestamp.parse(text) == milliseconds, "\(text)")
    }

    @Test(arguments: [
        "", "2022-04-22", "2022-04-22T01:13:58", "2022-04-22T01:13:58.Z", "2022-04-22T01:13:58.721",
        "2022-13-22T01:13:58Z", "2022-04-32T01:13:58Z", "2022-04-22T24:13:58Z", "2022-04-22T01:60:58Z",
        "2022-04-22T01:13:58+0900", "2022-04-22T01:13:58+09", "2022-04-22T01:13:58Z ", "2022/04/22T01:13:58Z",
        "22-04-22T01:13:58Z", "2022-04-22T01:13:58.721ZZ", "1650590038721", "yesterday",
    ])
    func refuses(text: String) {
        #expect(Timestamp.parse(text) == nil, "\(text)")
    }

    static let formatCases: [(Int64, String)] = [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_650_590_038_721, "2022-04-22T01:13:58.721Z"),
        (1_650_590_038_001, "2022-04-22T01:13:58.001Z"),
        (1_650_590_038_010, "2022-04-22T01:13:58.010Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-1_000, "1969-12-31T23:59:59.000Z"),
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ]

    @Test(arguments: formatCases)
    func formats(milliseconds: Int64, text: String) {
        #expect(Timestamp.format(epochMilliseconds: milliseconds) == text)
        #expect(Timestamp.parse(text) == milliseconds)
    }

    @Test func nowIsCloseToTheSystemClock() {
        let now = Timestamp.nowMilliseconds()
        // After 2025 and before 2100: milliseconds, not seconds or microseconds.
        #expect(now > 1_735_689_600_000)
        #expect(now < 4_102_444_800_000)
    }
}
