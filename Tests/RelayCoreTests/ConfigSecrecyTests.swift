import RelayCore
import Testing

@Suite("Config secrecy")
struct ConfigSecrecyTests {
    static let secret = "S3cr3tValueXYZ"
    static let whsec = "whsec_UzNjcjN0VmFsdWVYWVo="  // base64 of the secret above

    static let environment = [
        "LINE": secret, "PASSWORD": secret, "BEARER": secret, "DEST": whsec, "BOT": secret, "ADMIN": secret,
        "DB": "postgres://relay:\(secret)@db/relay", "BAD_WHSEC": "whsec_\(secret)!", "NOT_WHSEC": secret,
    ]

    static let valid = """
        admin: { listen: "0.0.0.0:8081", token: "${ADMIN}" }
        sources:
          line: { provider: line, channel_secrets: ["${LINE}", "${DEV:-DevSecretValue1}"] }
          basic: { provider: 8x8, auth: { basic: { username: relay, password: "${PASSWORD}" } } }
          bearer: { provider: 8x8, auth: { bearer: "${BEARER}" } }
        destinations:
          crm: { url: "https://relay:${PASSWORD}@crm/x", secret: "${DEST}", headers: { Authorization: "Bearer ${BEARER}" } }
          bot: { url: "http://bot/x", format: passthrough, line_channel_secret: "${BOT}" }
        routes:
          - to: [crm, bot]
        """

    @Test func validConfigNeverShowsSecrets() throws {
        let config = try ConfigLoader.parse(yaml: Self.valid, environment: Self.environment)
        #expect(config.source("bearer")?.auth == .bearer(Self.secret))
        #expect(config.destination("crm")?.signingKey == Array(Self.secret.utf8))
        var outputs = [config.summary(), String(describing: config)]
        outputs += config.sources.map { String(describing: $0) } + config.destinations.map { String(describing: $0) }
        outputs += config.sources.compactMap { $0.auth.map { String(describing: $0) } }
        outputs += config.warnings.map(\.description)
        #expect(config.warnings.contains { $0.message == "development secret in use (set DEV)" })
        for output in outputs {
            #expect(!output.contains(Self.secret))
            #expect(!output.contains("UzNjcjN0"))
            #expect(!output.contains("DevSecretValue1"))
        }
    }

    @Test func errorsNeverShowSecrets() throws {
        let yaml = """
            store: { postgres: "${DB}" }
            sources:
              line: { provider: line, channel_secret: "${LINE}", auth: { bearer: "${BEARER}" } }
              e: { provider: 8x8, auth: { basic: { username: "${PASSWORD}", password: "${PASSWORD}" }, bearer: "${BEARER}" } }
            destinations:
              crm: { url: "ftp://relay:${PASSWORD}@crm/x", secret: "${BAD_WHSEC}", headers: { X-Key: "${LINE}\\n" } }
              d2: { url: "http://crm/x", secret: "${NOT_WHSEC}", line_channel_secret: { nested: "${BOT}" } }
            routes:
              - to: [crm, d2]
            """
        let error = try #require(Fixture.error(yaml, environment: Self.environment))
        #expect(error.issues.count >= 6)
        #expect(!error.description.contains(Self.secret))
        #expect(!error.description.contains("S3cr3t"))
    }
}
