import Foundation
import RelayCore
import Testing

@Suite("Config loading")
struct ConfigTests {
    @Test func fullExampleParses() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.example, environment: Fixture.exampleEnvironment)
        #expect(config.listen == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(config.adminListen == ListenAddress(host: "127.0.0.1", port: 8081))
        #expect(config.adminToken == nil)
        #expect(config.store == .sqlite(path: "./data/relay.db"))
        #expect(config.maxBody == 1_048_576)
        #expect(config.readTimeout == .seconds(15))
        #expect(config.dedupWindow == .seconds(7 * 86_400))
        #expect(config.retry == [.seconds(1), .seconds(10), .seconds(30), .seconds(90)])
        #expect(config.retryJitter == 0.1)

        #expect(config.sources.map(\.id) == ["line", "eightxeight"])
        let line = try #require(config.source("line"))
        #expect(line.provider.kind == .line)
        #expect(line.channelSecrets == ["line-secret-1"])
        #expect(line.auth == nil)
        let eight = try #require(config.source("eightxeight"))
        #expect(eight.provider.kind == .eightByEight)
        #expect(eight.auth == .basic(username: "relay", password: "8x8-password"))
        #expect(eight.allowFrom == [IPRange("52.220.117.120/32"), IPRange("2001:db8::/32")].compactMap { $0 })
        #expect(eight.channelSecrets.isEmpty)

        #expect(config.destinations.map(\.id) == ["crm", "legacy-line-bot"])
        let crm = try #require(config.destination("crm"))
        #expect(crm.url == "http://crm.internal:8000/delivery-events")
        #expect(crm.format == .canonical)
        #expect(crm.secret == Fixture.crmSecret)
        #expect(crm.signingKey == Array(Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!))
        #expect(crm.headers.map(\.name) == ["X-Team"])
        #expect(crm.headers.map(\.value) == ["messaging"])
        #expect(crm.timeout == .seconds(10))
        #expect(crm.concurrency == 8)
        #expect(crm.retry == nil)
        let bot = try #require(config.destination("legacy-line-bot"))
        #expect(bot.format == .passthrough)
        #expect(bot.lineChannelSecret == "bot-secret")
        #expect(bot.secret == nil && bot.signingKey == nil)
        #expect(bot.retry == [.seconds(5), .seconds(60)])

        #expect(config.routes.count == 2)
        #expect(config.routes[0].from == ["line", "eightxeight"])
        #expect(config.routes[0].types == ["delivery.*"])
        #expect(config.routes[0].to == ["crm"])
        #expect(config.routes[1].types == nil)
        #expect(config.warnings == [])
    }

    @Test func contractExampleParsesVerbatim() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.contractExample, environment: Fixture.exampleEnvironment)
        #expect(config.readTimeout == .seconds(10))
        #expect(config.retryJitter == 0)
        #expect(config.source("eightxeight")?.allowFrom.isEmpty == true)
        #expect(config.destination("legacy-line-bot")?.retry == nil)
        #expect(config.destinations(forSource: "line", type: "delivery.read") == ["crm", "legacy-line-bot"])
        #expect(config.destinations(forSource: "eightxeight", type: "delivery.read") == ["crm"])
        #expect(config.warnings.isEmpty)
    }

    @Test func defaultsWhenKeysAreAbsent() throws {
        let yaml = "sources:\n  line:\n    provider: line\n    channel_secret: abc\n"
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        #expect(config.listen.description == "0.0.0.0:8080")
        #expect(config.adminListen.description == "127.0.0.1:8081")
        #expect(config.adminToken == nil)
        #expect(config.store == .sqlite(path: "./data/relay.db"))
        #expect(config.maxBody == 1 << 20)
        #expect(config.readTimeout == .seconds(10))
        #expect(config.dedupWindow == .seconds(604_800))
        #expect(config.retry == [.seconds(1), .seconds(10), .seconds(30), .seconds(90)])
        #expect(config.retryJitter == 0)
        #expect(config.destinations.isEmpty)
        #expect(config.routes.isEmpty)
        #expect(config.warnings.map(\.path) == ["routes"])
    }

    @Test func destinationDefaults() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.document(), environment: [:])
        let crm = try #require(config.destination("crm"))
        #expect(crm.format == .canonical)
        #expect(crm.timeout == .seconds(10))
        #expect(crm.concurrency == 8)
        #expect(crm.batch == nil)
        #expect(crm.secret == nil)
        #expect(crm.headers.isEmpty)
        #expect(config.routes[0].from == nil && config.routes[0].types == nil)
    }

    @Test func batchIsReadAndShownInTheSummary() throws {
        let config = try ConfigLoader.parse(yaml: Fixture.document(destinations: "  crm:\n    url: http://crm/x\n    batch: 100"), environment: [:])
        let crm = try #require(config.destination("crm"))
        #expect(crm.batch == 100)
        #expect(crm.description == "crm -> http://crm/x (canonical, batches of up to 100, unsigned)")
    }

    @Test func unsetVariableIsAnErrorNamingIt() {
        let yaml = "sources:\n  line:\n    provider: line\n    channel_secret: ${LINE_CHANNEL_SECRET}\n"
        let issues = Fixture.issues(yaml)
        #expect(issues.count == 1)
        #expect(issues.first?.path == "sources.line.channel_secret")
        #expect(issues.first?.line == 4)
        #expect(issues.first?.message.contains("LINE_CHANNEL_SECRET") == true)
    }

    @Test func defaultValueGivesDevelopmentSecretWarning() throws {
        let yaml = """
            admin:
              token: ${RELAY_ADMIN_TOKEN:-}
            sources:
              line:
                provider: line
                channel_secret: ${LINE_CHANNEL_SECRET:-dev-line-secret}
            """
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        #expect(config.source("line")?.channelSecrets == ["dev-line-secret"])
        #expect(config.adminToken == nil)
        let warning = try #require(config.warnings.first { $0.path == "sources.line.channel_secret" })
        #expect(warning.line == 6)
        #expect(warning.message == "development secret in use (set LINE_CHANNEL_SECRET)")
        // The empty default of the admin token is "no token", not a development secret.
        #expect(!config.warnings.contains { $0.path == "admin.token" })

        let real = try ConfigLoader.parse(yaml: yaml, environment: ["LINE_CHANNEL_SECRET": "prod", "RELAY_ADMIN_TOKEN": "t"])
        #expect(real.source("line")?.channelSecrets == ["prod"])
        #expect(real.adminToken == "t")
        #expect(!real.warnings.contains { $0.message.contains("development secret") })
    }

    @Test func defaultedNonSecretValueDoesNotWarn() throws {
        let yaml = Fixture.document(top: "listen: ${LISTEN:-0.0.0.0:9090}")
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        #expect(config.listen.port == 9090)
        #expect(!config.warnings.contains { $0.message.contains("development secret") })
    }

    @Test func secretWithColonAndHashSurvives() throws {
        let secret = "a:b #c: d}{$x ${NOT_EXPANDED}"
        let yaml = "sources:\n  line:\n    provider: line\n    channel_secret: ${LINE_CHANNEL_SECRET}\n"
        let config = try ConfigLoader.parse(yaml: yaml, environment: ["LINE_CHANNEL_SECRET": secret])
        #expect(config.source("line")?.channelSecrets == [secret])
    }

    @Test func substitutionInsideLongerStringAndLiteralDollars() throws {
        let yaml = Fixture.document(destinations: """
              crm:
                url: http://${HOST}:8000/x
                headers: { X-Price: "$5 and $$ and ${CURRENCY:-EUR}" }
            """)
        let config = try ConfigLoader.parse(yaml: yaml, environment: ["HOST": "crm.internal"])
        let crm = try #require(config.destination("crm"))
        #expect(crm.url == "http://crm.internal:8000/x")
        #expect(crm.headers.first?.value == "$5 and $$ and EUR")
    }

    @Test func malformedReferenceIsAnError() {
        let yaml = Fixture.document(destinations: "  crm:\n    url: http://${HOST/x")
        let issues = Fixture.issues(yaml, environment: ["HOST": "h"])
        #expect(issues.map(\.path) == ["destinations.crm.url"])
    }

    @Test func channelSecretsAreUnioned() throws {
        let yaml = Fixture.document(sources: """
              line:
                provider: line
                channel_secret: new
                channel_secrets: [old, new]
            """)
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        #expect(config.source("line")?.channelSecrets == ["new", "old"])
    }

    @Test func authorizationHeaderIsAllowed() throws {
        let yaml = Fixture.document(destinations: "  crm:\n    url: https://crm/x\n    headers: { Authorization: Bearer abc }")
        let config = try ConfigLoader.parse(yaml: yaml, environment: [:])
        #expect(config.destination("crm")?.headers.first?.name == "Authorization")
    }

    @Test func loadReadsFileAndReportsUnreadableOne() throws {
        let path = NSTemporaryDirectory() + "relay-config-test-\(UUID().uuidString).yaml"
        try Fixture.document().write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ConfigLoader.load(path: path, environment: [:])
        #expect(config.sources.map(\.id) == ["line"])

        let missing = "/nonexistent-dir/routes.yaml"
        #expect {
            _ = try ConfigLoader.load(path: missing, environment: [:])
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.issues == [ConfigIssue(path: "", line: nil,
                                                message: "cannot read \(missing): No such file or directory")]
                && error.file == missing
        }
    }

    @Test func descriptionsUseFileAndLine() {
        let issue = ConfigIssue(path: "sources.line.channel_secret", line: 12, message: "must not be empty")
        #expect(issue.description == "line 12: sources.line.channel_secret: must not be empty")
        #expect(ConfigIssue(path: "sources.x", line: nil, message: "m").description == "sources.x: m")
        let error = ConfigError(file: "routes.yaml", issues: [issue, ConfigIssue(path: "", line: nil, message: "m")])
        #expect(error.description == "routes.yaml:12: sources.line.channel_secret: must not be empty\nroutes.yaml: m")
    }
}
