import RelayServer
import Testing

/// Phone numbers and LINE phone hashes are masked wherever they appear in a log line.
@Suite struct RedactionTests {
    @Test(arguments: [
        ("+6512345678", "+6512****78"),
        ("to +16505551234 now", "to +1650****34 now"),
        ("msisdn=6581968289", "msisdn=6581****89"),
        ("68df277462529930889fab80ecffdc0883906320591df93c25efc08300410fc2", "68df****c2"),
        ("hash 68DF277462529930889FAB80ECFFDC0883906320591DF93C25EFC08300410FC2.", "hash 68DF****C2."),
    ])
    func masks(input: String, expected: String) {
        #expect(Redaction.mask(input) == expected)
    }

    @Test(arguments: [
        "attempt 3 of 5",                              // short numbers are not phones
        "2026-11-25T02:05:32.041Z",                    // times stay readable
        "01G17DAF0QJ7A3ERC5EJ9MAMH8",                  // LINE event ids
        "6c2b9d4e-1f57-4a53-9b0e-2f1a5c8e7d31",        // 8x8 umids
        "status 503 after 1650590038721123456 ms",     // 19 digits: not a phone number
    ])
    func leavesOtherTextAlone(input: String) {
        #expect(Redaction.mask(input) == input)
    }
}
