import RelayCore
import Testing

@Suite("Config validation")
struct ConfigValidationTests {
    @Test func unknownKeysAtEveryLevelWithLines() {
        let yaml = """
            listen: 0.0.0.0:8080
            lisen: 1
            sources:
              line:
                provider: line
                channel_secret: abc
                chanel_secret: abc
            destinations:
              crm:
                url: http://crm/x
                timout: 5s
            routes:
              - to: [crm]
                form: [line]
            """
        let issues = Fixture.issues(yaml)
        #expect(issues.map(\.path) == ["lisen", "sources.line.chanel_secret", "destinations.crm.timout", "routes[0].form"])
        #expect(issues.map(\.line) == [2, 7, 11, 14])
        #expect(issues.first?.message == "unknown key \"lisen\" (did you mean \"listen\"?)")
        #expect(issues.last?.message == "unknown key \"form\" (did you mean \"from\"?)")
    }

    @Test func unknownKeyWithoutCloseMatchListsAllowedKeys() {
        let issues = Fixture.issues(Fixture.document(top: "admin:\n  password: x"))
        #expect(issues.map(\.path) == ["admin.password"])
        #expect(issues.first?.message == "unknown key \"password\" (expected one of: listen, token, hosts)")
    }

    @Test func unknownSourceAndDestinationInRoutes() throws {
        let yaml = """
            sources:
              line: { provider: line, channel_secret: abc }
              eightxeight: { provider: 8x8, auth: { bearer: t } }
            destinations:
              crm: { url: "http://crm/x" }
              legacy-line-bot: { url: "http://bot/x", line_channel_secret: s, format: passthrough }
            routes:
              - from: [line, lin]
                to: [crm, crmm]
              - to: [legacy-line-bot]
            """
        let error = try #require(Fixture.error(yaml))
        #expect(error.issues.map(\.path) == ["routes[0].from[1]", "routes[0].to[1]"])
        #expect(error.issues.map(\.line) == [8, 9])
        #expect(error.issues[0].message == "unknown source \"lin\" (known: line, eightxeight)")
        #expect(error.description.split(separator: "\n").last
            == "routes.yaml:9: routes[0].to[1]: unknown destination \"crmm\" (known: crm, legacy-line-bot)")
    }

    @Test func routeToUnknownDestinationWhenNoneDefined() {
        let issues = Fixture.issues(Fixture.document(destinations: "", routes: "  - to: [crm]"))
        #expect(issues.map(\.path) == ["routes[0].to[0]"])
        #expect(issues.first?.message.contains("no destinations are defined") == true)
    }

    /// Each document has exactly one problem, reported at exactly this path.
    static let singleErrorCases: [(yaml: String, path: String)] = [
        (Fixture.document(top: "dedup_window: 7"), "dedup_window"),
        (Fixture.document(top: "dedup_window: 7w"), "dedup_window"),
        (Fixture.document(top: "dedup_window: 0s"), "dedup_window"),
        (Fixture.document(top: "retry: []"), "retry"),
        (Fixture.document(top: "retry: 1s"), "retry"),
        (Fixture.document(top: "retry: [1s, 0s]"), "retry[1]"),
        (Fixture.document(top: "retry: [1s, 2x]"), "retry[1]"),
        (Fixture.document(top: "retry: [" + Array(repeating: "1s", count: 21).joined(separator: ", ") + "]"), "retry"),
        (Fixture.document(top: "retry_jitter: 10"), "retry_jitter"),
        (Fixture.document(top: "retry_jitter: 150%"), "retry_jitter"),
        (Fixture.document(top: "limits: { max_body: 1MB }"), "limits.max_body"),
        (Fixture.document(top: "limits: { max_body: 65MiB }"), "limits.max_body"),
        (Fixture.document(top: "limits: { max_body: 0 }"), "limits.max_body"),
        (Fixture.document(top: "limits: { read_timeout: 10 }"), "limits.read_timeout"),
        (Fixture.document(top: "listen: 8080"), "listen"),
        (Fixture.document(top: "listen: 0.0.0.0:70000"), "listen"),
        (Fixture.document(top: "listen: \"::1:8080\""), "listen"),
        (Fixture.document(top: "listen: 1.2.3:80"), "listen"),
        (Fixture.document(top: "admin: { listen: \"[::1]8081\" }"), "admin.listen"),
        (Fixture.document(top: "store: { sqlite: a.db, postgres: \"postgres://h/db\" }"), "store"),
        (Fixture.document(top: "store: { postgres: \"mysql://h/db\" }"), "store.postgres"),
        (Fixture.document(top: "store: { postgres: \"postgres:///db\" }"), "store.postgres"),
        (Fixture.document(top: "store: { postgres: \"postgres://h\" }"), "store.postgres"),
        (Fixture.document(top: "store: { postgres: \"postgres://h/db?sslmode=sometimes\" }"), "store.postgres"),
        (Fixture.document(top: "store: {}"), "store"),
        (Fixture.document(top: "store: { sqlite: a.db, lease: 0s }"), "store.lease"),
        (Fixture.document(top: "store: { sqlite: a.db, lease: 2h }"), "store.lease"),
        (Fixture.document(top: "store: { sqlite: a.db, lease: 30 }"), "store.lease"),
        (Fixture.document(top: "shutdown_delay: soon"), "shutdown_delay"),
        (Fixture.document(top: "shutdown_delay: 2h"), "shutdown_delay"),
        (Fixture.document(sources: "  line:\n    provider: slack"), "sources.line.provider"),
        (Fixture.document(sources: "  bad id!:\n    provider: line\n    channel_secret: x", routes: ""), "sources.bad id!"),
        (Fixture.document(sources: "  line:\n    provider: line"), "sources.line.channel_secret"),
        (Fixture.document(sources: "  line:\n    provider: line\n    channel_secrets: []"), "sources.line.channel_secrets"),
        (Fixture.document(sources: "  line:\n    provider: line\n    channel_secret: \"\""), "sources.line.channel_secret"),
        (Fixture.document(sources: "  line:\n    provider: line\n    channel_secret: x\n    auth: { bearer: t }"),
         "sources.line.auth"),
        (Fixture.document(sources: "  line:\n    provider: line\n    channel_secret: x\n    allow_from: [1.2.3.4/33]"),
         "sources.line.allow_from[0]"),
        (Fixture.document(sources: "  line:\n    provider: line\n    channel_secret: x\n    allow_from: [10.0.0.0/8, nope]"),
         "sources.line.allow_from[1]"),
        (Fixture.document(sources: "  line:\n    provider: line\n    channel_secret: x\n    allow_from: [\"2001:db8::/129\"]"),
         "sources.line.allow_from[0]"),
        (Fixture.document(sources: "  e:\n    provider: 8x8"), "sources.e.auth"),
        (Fixture.document(sources: "  e:\n    provider: 8x8\n    auth: { bearer: t, basic: { username: u, password: p } }"),
         "sources.e.auth"),
        (Fixture.document(sources: "  e:\n    provider: 8x8\n    auth: { none: false }"), "sources.e.auth.none"),
        (Fixture.document(sources: "  e:\n    provider: 8x8\n    auth: { basic: { username: u } }"),
         "sources.e.auth.basic.password"),
        (Fixture.document(sources: "  e:\n    provider: 8x8\n    auth: { bearer: \"\" }"), "sources.e.auth.bearer"),
        (Fixture.document(sources: "  e:\n    provider: 8x8\n    auth: { bearer: t }\n    channel_secret: x"),
         "sources.e.channel_secret"),
        (Fixture.document(destinations: "  crm:\n    url: ftp://crm/x"), "destinations.crm.url"),
        (Fixture.document(destinations: "  crm:\n    url: not a url"), "destinations.crm.url"),
        (Fixture.document(destinations: "  crm:\n    url: http:///path"), "destinations.crm.url"),
        (Fixture.document(destinations: "  crm:\n    format: canonical"), "destinations.crm.url"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    secret: abc"), "destinations.crm.secret"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    secret: whsec_!!!!"), "destinations.crm.secret"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    secret: whsec_"), "destinations.crm.secret"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    secret: whsec_" + String(repeating: "A", count: 88)),
         "destinations.crm.secret"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    headers: { Content-Type: text/plain }"),
         "destinations.crm.headers.Content-Type"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    headers: { webhook-signature: x }"),
         "destinations.crm.headers.webhook-signature"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    headers: { \"bad header\": x }"),
         "destinations.crm.headers.bad header"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    timeout: 6m"), "destinations.crm.timeout"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    concurrency: 0"), "destinations.crm.concurrency"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    concurrency: 1025"), "destinations.crm.concurrency"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    concurrency: eight"), "destinations.crm.concurrency"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    format: raw"), "destinations.crm.format"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    ordering: fifo"), "destinations.crm.ordering"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    ordering: [subject]"), "destinations.crm.ordering"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    batch: 0"), "destinations.crm.batch"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    batch: 1001"), "destinations.crm.batch"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    format: passthrough\n    line_channel_secret: s\n    batch: 10"), "destinations.crm.batch"),
        (Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    retry: [1s, 1d, -1s]"), "destinations.crm.retry[2]"),
        (Fixture.document(routes: "  - from: [line]"), "routes[0].to"),
        (Fixture.document(routes: "  - to: []"), "routes[0].to"),
        (Fixture.document(routes: "  - to: crm"), "routes[0].to"),
        (Fixture.document(routes: "  to: [crm]"), "routes"),
        (Fixture.document(sources: "  {}"), "sources"),
        ("destinations:\n  crm:\n    url: http://crm/x\n", "sources"),
    ]

    @Test(arguments: singleErrorCases)
    func singleErrorIsReportedAtPath(yaml: String, path: String) {
        let issues = Fixture.issues(yaml)
        #expect(issues.map(\.path) == [path], "\(yaml)")
        #expect(issues.allSatisfy { !$0.message.isEmpty && !$0.message.contains("\n") })
    }

    @Test func postgresURLIsAccepted() throws {
        for url in ["postgres://u:pw@h/db", "postgresql://u:pw@h:6432/db?sslmode=require"] {
            let config = try ConfigLoader.parse(yaml: Fixture.document(top: "store:\n  postgres: ${DATABASE_URL}"),
                                                environment: ["DATABASE_URL": url])
            #expect(config.store == .postgres(url: url))
        }
    }

    @Test func leaseAndShutdownDelayAreReadWithTheirDefaults() throws {
        let defaults = try ConfigLoader.parse(yaml: Fixture.document(), environment: [:])
        #expect(defaults.storeLease == .seconds(30) && defaults.shutdownDelay == .zero)
        let set = try ConfigLoader.parse(yaml: Fixture.document(top: "shutdown_delay: 0s\nstore:\n  postgres: \"postgres://h/db\"\n  lease: 1.5s"), environment: [:])
        #expect(set.storeLease == .milliseconds(1_500) && set.shutdownDelay == .zero && set.store == .postgres(url: "postgres://h/db"))
        #expect(set.summary().contains("lease 1.5s"))
        let delayed = try ConfigLoader.parse(yaml: Fixture.document(top: "shutdown_delay: 5s"), environment: [:])
        #expect(delayed.shutdownDelay == .seconds(5) && delayed.summary().contains("shutdown_delay 5s"))
    }

    @Test func postgresURLProblemIsExplicitAndHidesThePassword() {
        let issues = Fixture.issues(Fixture.document(top: "store:\n  postgres: ${DATABASE_URL}"),
                                    environment: ["DATABASE_URL": "mysql://u:s3cretpw@h/db"])
        #expect(issues == [ConfigIssue(path: "store.postgres", line: 2,
                                       message: "must start with postgres:// or postgresql:// (e.g. postgres://user:password@host:5432/relay)")])
        #expect(!issues.contains { $0.message.contains("s3cretpw") })
    }

    @Test func eightByEightAuthNoneWarns() throws {
        let yaml = Fixture.document(sources: "  e:\n    provider: 8x8\n    auth:\n      none: true")
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        #expect(config.source("e")?.auth == EightByEightAuth.none)
        #expect(config.warnings.contains {
            $0.path == "sources.e.auth.none" && $0.line == 5 && $0.message == "8x8 requests will not be authenticated"
        })
    }

    @Test func passthroughRoutedFromLineNeedsLineChannelSecret() throws {
        let yaml = """
            sources:
              line: { provider: line, channel_secret: abc }
              e: { provider: 8x8, auth: { bearer: t } }
            destinations:
              bot:
                url: http://bot/cb
                format: passthrough
              other:
                url: http://other/cb
                format: passthrough
              all:
                url: http://all/cb
                format: passthrough
            routes:
              - from: [line]
                to: [bot]
              - from: [e]
                to: [other]
              - to: [all]
            """
        let issues = Fixture.issues(yaml)
        #expect(issues.map(\.path) == ["destinations.bot", "destinations.all"])
        #expect(issues.map(\.line) == [5, 11])
        #expect(issues.first?.message.contains("line_channel_secret") == true)

        let fixed = yaml.replacingOccurrences(of: "format: passthrough", with: "format: passthrough\n    line_channel_secret: s")
        let config = try ConfigLoader.parse(yaml: fixed, environment: [:])
        #expect(config.destination("bot")?.lineChannelSecret == "s")
    }

    @Test func lineChannelSecretOnCanonicalAndUnusedDestinationWarn() throws {
        let yaml = Fixture.document(destinations: """
              crm:
                url: http://crm/x
                line_channel_secret: s
              spare:
                url: http://spare/x
            """)
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        #expect(config.warnings.map(\.path) == ["destinations.crm.line_channel_secret", "destinations.spare"])
    }

    @Test func exposedAdminWithoutTokenWarns() throws {
        let open = try ConfigLoader.parse(yaml: Fixture.document(top: "admin: { listen: 0.0.0.0:8081 }"), environment: [:])
        #expect(open.warnings.contains { $0.path == "admin.token" })
        let guarded = try ConfigLoader.parse(yaml: Fixture.document(top: "admin: { listen: 0.0.0.0:8081, token: 6f1c0e2d9a8b7c6d5e4f3a2b1c0d9e8f }"),
                                             environment: [:])
        #expect(!guarded.warnings.contains { $0.path == "admin.token" })
        #expect(guarded.adminToken == "6f1c0e2d9a8b7c6d5e4f3a2b1c0d9e8f")
    }

    @Test func manyErrorsAreAllReportedInOneRun() {
        let yaml = """
            listen: nowhere
            dedup_window: 7
            colour: blue
            sources:
              line:
                provider: line
              e:
                provider: 8x8
                auth: { none: true, bearer: t }
            destinations:
              crm:
                url: ftp://crm
                concurrency: 0
                headers: { Host: x }
            routes:
              - from: [line, nope]
                to: [crm, gone]
                types: ["a*"]
            """
        let issues = Fixture.issues(yaml, environment: [:])
        let expected: [(String, Int)] = [
            ("listen", 1), ("dedup_window", 2), ("colour", 3), ("sources.line.channel_secret", 5),
            ("sources.e.auth", 9), ("destinations.crm.url", 12), ("destinations.crm.concurrency", 13),
            ("destinations.crm.headers.Host", 14), ("routes[0].from[1]", 16), ("routes[0].to[1]", 17),
        ]
        #expect(issues.count == 10)
        #expect(issues.map(\.path) == expected.map(\.0))
        #expect(issues.map(\.line) == expected.map(\.1))
    }

    @Test func yamlSyntaxErrorReportsALine() throws {
        let yaml = "sources:\n  line:\n    provider: line\n    channel_secret: [unclosed\n  other: x\n"
        let error = try #require(Fixture.error(yaml))
        #expect(error.issues.count == 1)
        #expect(error.issues.first?.path == "")
        #expect(error.issues.first?.line == 5)
        #expect(error.issues.first?.message.hasPrefix("YAML syntax error") == true)
        #expect(!error.description.contains("\n"))
    }

    @Test func duplicateKeysAreReported() {
        let issues = Fixture.issues("sources:\n  line: { provider: line, channel_secret: a }\n  line: { provider: line }\n")
        #expect(issues.count == 1)
        #expect(issues.first?.message.contains("\"line\"") == true)
        #expect(issues.first?.line != nil)
    }

    @Test func emptyFileIsAnError() {
        #expect(Fixture.issues("").map(\.path) == [""])
        #expect(Fixture.issues("# only a comment\n").count == 1)
        #expect(Fixture.issues("- a\n- b\n").count == 1)
    }
}
