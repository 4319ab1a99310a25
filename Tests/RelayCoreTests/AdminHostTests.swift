import RelayCore
import Testing

/// The admin listener's `Host` rule (DNS rebinding) and its two keys: `admin.hosts` and the short-token warning.
@Suite("Admin host and token")
struct AdminHostTests {
    static let loopback = ListenAddress(host: "127.0.0.1", port: 8081)

    @Test func theListenAddressLocalhostAndListedNamesAreAnsweredOthersAreNot() {
        let hosts = ["relay-admin.internal"]
        for header in ["127.0.0.1:8081", "127.0.0.1", "localhost:8081", "LOCALHOST", "localhost.", "relay-admin.internal:8081", "Relay-Admin.Internal"] {
            #expect(AdminHost.allows(header, listen: Self.loopback, hosts: hosts), "\(header)")
        }
        // A rebound name, a look-alike, another address, nothing, and malformed values.
        for header in ["rebind.test:8081", "relay-admin.internal.evil.test", "localhost.evil.test", "127.0.0.2:8081", "[::1]:8081",
                       "", "127.0.0.1:80:81", "127.0.0.1:x", "user@127.0.0.1", "127.0.0.1 ", "a b"] as [String?] + [nil] {
            #expect(!AdminHost.allows(header, listen: Self.loopback, hosts: hosts), "\(String(describing: header))")
        }
    }

    @Test func aWildcardListenerTakesAnyIPAddressButNoUnlistedName() {
        for listen in [ListenAddress(host: "0.0.0.0", port: 8081), ListenAddress(host: "::", port: 8081)] {
            for header in ["10.1.2.3:8081", "[fd00::1]:8081", "127.0.0.1", "localhost:8081"] {
                #expect(AdminHost.allows(header, listen: listen, hosts: []), "\(listen) \(header)")
            }
            #expect(!AdminHost.allows("relay.example:8081", listen: listen, hosts: []))
            #expect(AdminHost.allows("relay.example:8081", listen: listen, hosts: ["relay.example"]))
        }
        let v6 = ListenAddress(host: "::1", port: 8081)
        #expect(AdminHost.allows("[::1]:8081", listen: v6, hosts: []))
        #expect(!AdminHost.allows("[::2]:8081", listen: v6, hosts: []))
    }

    @Test func adminHostsAreReadLowercasedAndABadOneIsAnErrorWithItsLine() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.document(top: "admin:\n  hosts: [Relay-Admin.Internal, \"10.0.0.5\"]"), environment: [:])
        #expect(config.adminHosts == ["relay-admin.internal", "10.0.0.5"])
        #expect(config.summary().contains("also answers Host relay-admin.internal, 10.0.0.5"))
        let issues = Fixture.issues(Fixture.document(top: "admin:\n  hosts:\n    - ok.internal\n    - http://relay:8081"))
        #expect(issues.map(\.path) == ["admin.hosts"])
        #expect(issues.first?.line == 4)
        #expect(issues.first?.message.contains("without scheme or port") == true)
        #expect(Fixture.issues(Fixture.document(top: "admin:\n  hosts: []")).map(\.path) == ["admin.hosts"])
    }

    @Test func aTokenShorterThanTwentyFourCharactersWarnsWithoutShowingIt() throws {
        let short = try ConfigLoader.parse(yaml: Fixture.document(top: "admin: { token: a }"), environment: [:])
        let warning = try #require(short.warnings.first { $0.path == "admin.token" })
        #expect(warning.message.contains("1 characters long; use at least 24"))
        let almost = try ConfigLoader.parse(yaml: Fixture.document(top: "admin: { token: \"${T}\" }"), environment: ["T": "Zq8-secret-token-of-23c"])
        #expect(almost.warnings.contains { $0.path == "admin.token" })
        #expect(!almost.warnings.contains { $0.message.contains("Zq8-secret") }, "the token itself is never shown")
        let enough = try ConfigLoader.parse(yaml: Fixture.document(top: "admin: { token: \"${T}\" }"), environment: ["T": String(repeating: "k", count: 24)])
        #expect(!enough.warnings.contains { $0.path == "admin.token" })
    }
}
