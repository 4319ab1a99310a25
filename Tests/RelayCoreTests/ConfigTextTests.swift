import RelayCore
import Testing

@Suite("Config value formats")
struct ConfigTextTests {
    @Test func ipv4Ranges() throws {
        let range = try #require(IPRange("10.0.0.0/8"))
        #expect(range.contains("10.1.2.3"))
        #expect(!range.contains("11.0.0.1"))
        #expect(try #require(IPRange("1.2.3.4")).contains("1.2.3.4"))
        #expect(try !#require(IPRange("1.2.3.4")).contains("1.2.3.5"))
        #expect(try #require(IPRange("0.0.0.0/0")).contains("203.0.113.9"))
        #expect(try #require(IPRange("52.220.117.120/32")).description == "52.220.117.120/32")
        #expect(try #require(IPRange("10.1.2.3/8")).description == "10.0.0.0/8")
        #expect(IPRange("10.1.2.3/8") == IPRange("10.0.0.0/8"))
    }

    @Test func ipv6Ranges() throws {
        let range = try #require(IPRange("2001:db8::/32"))
        #expect(range.contains("2001:db8:1234::1"))
        #expect(!range.contains("2001:db9::1"))
        #expect(!range.contains("10.0.0.1"))
        #expect(try #require(IPRange("::1")).contains("::1"))
        #expect(try #require(IPRange("::1")).description == "::1/128")
        #expect(try #require(IPRange("2001:DB8::1/32")).description == "2001:db8::/32")
        #expect(try #require(IPRange("fe80::/10")).contains("fe80::1%eth0"))
    }

    @Test func mappedIPv4MatchesIPv4Ranges() throws {
        let range = try #require(IPRange("10.0.0.0/8"))
        #expect(range.contains("::ffff:10.1.2.3"))
        #expect(!range.contains("::ffff:11.1.2.3"))
        // Only the IPv4-mapped prefix is treated as IPv4; other IPv6 addresses ending in those bytes are not.
        #expect(!range.contains("::10.1.2.3"))
        #expect(try #require(IPRange("::ffff:0:0/96")).contains("192.0.2.1"))
    }

    @Test(arguments: ["", "abc", "1.2.3.4/33", "1.2.3.4/", "/8", "1.2.3.4/8/9", "::1/129", "1.2.3.4/-1",
                      "1.2.3.4/ 8", "1.2.3", "256.1.1.1", "[::1]", "1.2.3.4\0/8"])
    func invalidRanges(text: String) {
        #expect(IPRange(text) == nil)
    }

    @Test func containsIsFalseForGarbage() throws {
        let range = try #require(IPRange("0.0.0.0/0"))
        #expect(!range.contains("not an address"))
        #expect(!range.contains(""))
        #expect(!range.contains("1.2.3.4.5"))
    }

    @Test func globMatching() {
        #expect(Glob.matches("delivery.*", "delivery.failed"))
        #expect(Glob.matches("delivery.*", "delivery."))
        #expect(!Glob.matches("delivery.*", "message.delivered"))
        #expect(!Glob.matches("delivery.*", "delivery"))
        #expect(Glob.matches("*", ""))
        #expect(Glob.matches("*", "anything.at.all"))
        #expect(Glob.matches("*.failed", "delivery.failed"))
        #expect(Glob.matches("message.?ent", "message.sent"))
        #expect(!Glob.matches("message.?ent", "message.ent"))
        #expect(Glob.matches("a*b*c", "aXXbYYc"))
        #expect(!Glob.matches("a*b*c", "aXXbYY"))
        #expect(Glob.matches("a**b", "ab"))
        #expect(Glob.matches("exact", "exact"))
        #expect(!Glob.matches("exact", "exactly"))
        #expect(!Glob.matches("", "x"))
    }

    @Test func durationParsing() {
        #expect(DurationText.parse("100ms") == .milliseconds(100))
        #expect(DurationText.parse("1.5s") == .milliseconds(1500))
        #expect(DurationText.parse("10m") == .seconds(600))
        #expect(DurationText.parse("2h") == .seconds(7200))
        #expect(DurationText.parse("7d") == .seconds(604_800))
        #expect(DurationText.parse("0.5ms") == .microseconds(500))
        #expect(DurationText.parse("1.25h") == .seconds(4500))
        #expect(DurationText.parse("0s") == .zero)
    }

    @Test(arguments: ["10", "10x", "s", "1.s", ".5s", "-1s", "1 s", "", "1e3s", "1.2.3s", "10S", "5us",
                      "99999999999999999999s", "200000d"])
    func invalidDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func durationFormatting() {
        #expect(DurationText.format(.seconds(1)) == "1s")
        #expect(DurationText.format(.milliseconds(100)) == "100ms")
        #expect(DurationText.format(.seconds(604_800)) == "7d")
        #expect(DurationText.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationText.format(.seconds(90)) == "90s")
        #expect(DurationText.format(.seconds(120)) == "2m")
        #expect(DurationText.format(.seconds(36 * 3600)) == "36h")
        #expect(DurationText.format(.microseconds(500)) == "0.5ms")
        #expect(DurationText.format(.zero) == "0s")
    }

    @Test(arguments: ["1s", "100ms", "7d", "1.5s", "90s", "2m", "36h", "0.5ms", "1.000000001s", "12h", "0.001ms"])
    func durationRoundTrip(text: String) throws {
        let duration = try #require(DurationText.parse(text))
        #expect(DurationText.format(duration) == text)
        #expect(DurationText.parse(DurationText.format(duration)) == duration)
    }

    @Test func sizeParsingAndFormatting() {
        #expect(SizeText.parse("1MiB") == 1_048_576)
        #expect(SizeText.parse("512KiB") == 524_288)
        #expect(SizeText.parse("1GiB") == 1_073_741_824)
        #expect(SizeText.parse("100B") == 100)
        #expect(SizeText.parse("2048") == 2048)
        for bad in ["1MB", "1.5MiB", "MiB", "-1", "1 MiB", "1kib", "", "1KB", "99999999999999999999GiB"] {
            #expect(SizeText.parse(bad) == nil, "\(bad)")
        }
        #expect(SizeText.format(1_048_576) == "1MiB")
        #expect(SizeText.format(1536 * 1024) == "1536KiB")
        #expect(SizeText.format(100) == "100B")
        #expect(SizeText.format(0) == "0B")
        for bytes in [1, 1000, 1024, 65 << 20, 3 << 30] {
            #expect(SizeText.parse(SizeText.format(bytes)) == bytes)
        }
    }

    @Test func listenAddresses() throws {
        let any = try #require(ListenAddress("0.0.0.0:8080"))
        #expect(any.host == "0.0.0.0" && any.port == 8080 && !any.isLoopback)
        let v6 = try #require(ListenAddress("[::1]:8081"))
        #expect(v6.host == "::1" && v6.isLoopback && v6.description == "[::1]:8081")
        #expect(try #require(ListenAddress("localhost:80")).isLoopback)
        #expect(try #require(ListenAddress("127.0.0.2:1")).isLoopback)
        #expect(try !#require(ListenAddress("relay.example.com:443")).isLoopback)
        #expect(try !#require(ListenAddress("[::]:65535")).isLoopback)
        for bad in ["8080", ":8080", "host:0", "host:65536", "::1:80", "[::1]", "[1.2.3.4]:80", "-bad-:80",
                    "1.2.3:80", "host:80a", "host:", "ho st:80", "[::1]:", "999.1.1.1:80"] {
            #expect(ListenAddress(bad) == nil, "\(bad)")
        }
    }
}
