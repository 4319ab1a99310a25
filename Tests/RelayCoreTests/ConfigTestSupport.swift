import RelayCore

/// Shared fixtures and helpers for the config tests.
enum Fixture {
    /// A valid Standard Webhooks secret (24 random-looking bytes).
    static let crmSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// The example from the product contract, verbatim apart from the uncommented optional keys.
    static let example = """
        listen: 0.0.0.0:8080              # ingest listener
        admin:
          listen: 127.0.0.1:8081          # /metrics, /healthz, /readyz, /admin/*
          token: ${RELAY_ADMIN_TOKEN:-}   # when set, /admin/* needs "Authorization: Bearer <token>"
        store:
          sqlite: ./data/relay.db         # embedded default
          # postgres: ${DATABASE_URL}     # shared store for several relay instances
        limits:
          max_body: 1MiB
          read_timeout: 15s
        dedup_window: 7d
        retry: [1s, 10s, 30s, 90s]        # delays after attempt 1, 2, 3, 4; then dead letter
        retry_jitter: 10%

        sources:                          # each is served at POST /webhooks/<id>
          line:
            provider: line
            channel_secret: ${LINE_CHANNEL_SECRET}
            # channel_secrets: [..., ...] # several accepted during rotation
          eightxeight:
            provider: 8x8
            auth:                         # 8x8 sends a static Authorization header you register; exactly one of:
              basic:
                username: relay
                password: ${EIGHTXEIGHT_WEBHOOK_PASSWORD}
              # bearer: ${TOKEN}
            allow_from: [52.220.117.120/32, 2001:db8::/32]

        destinations:
          crm:
            url: http://crm.internal:8000/delivery-events
            format: canonical             # canonical | passthrough
            secret: ${CRM_WEBHOOK_SECRET} # whsec_<base64>: Standard Webhooks signing secret
            headers: { X-Team: messaging }
            timeout: 10s
            concurrency: 8
          legacy-line-bot:
            url: http://bot.internal:3000/callback
            format: passthrough           # original provider body, LINE re-signed:
            line_channel_secret: ${BOT_CHANNEL_SECRET}
            retry: [5s, 1m]

        routes:
          - from: [line, eightxeight]     # source ids; omitted = all
            types: ["delivery.*"]         # canonical types, glob; omitted = all
            to: [crm]
          - from: [line]
            to: [legacy-line-bot]
        """

    /// The example exactly as written in the product contract (optional keys left commented out).
    static let contractExample = """
        listen: 0.0.0.0:8080              # ingest listener
        admin:
          listen: 127.0.0.1:8081          # /metrics, /healthz, /readyz, /admin/*
          token: ${RELAY_ADMIN_TOKEN:-}   # when set, /admin/* needs "Authorization: Bearer <token>"
        store:
          sqlite: ./data/relay.db         # embedded default
          # postgres: ${DATABASE_URL}     # shared store for several relay instances
        limits:
          max_body: 1MiB
          # read_timeout: 10s            # (add this: request body read timeout, default 10s)
        dedup_window: 7d
        retry: [1s, 10s, 30s, 90s]        # delays after attempt 1, 2, 3, 4; then dead letter
        # retry_jitter: 10%               # optional spread of each delay; default 0 (exact schedule)

        sources:                          # each is served at POST /webhooks/<id>
          line:
            provider: line
            channel_secret: ${LINE_CHANNEL_SECRET}
            # channel_secrets: [..., ...] # several accepted during rotation
          eightxeight:
            provider: 8x8
            auth:                         # 8x8 sends a static Authorization header you register; exactly one of:
              basic:
                username: relay
                password: ${EIGHTXEIGHT_WEBHOOK_PASSWORD}
              # bearer: ${TOKEN}
              # none: true                # explicit; `relay check` warns
            # allow_from: [52.220.117.120/32, ...]   # optional source-address allow list (IPv4 and IPv6 CIDRs)

        destinations:
          crm:
            url: http://crm.internal:8000/delivery-events
            format: canonical             # canonical | passthrough
            secret: ${CRM_WEBHOOK_SECRET} # whsec_<base64>: Standard Webhooks signing secret
            headers: { X-Team: messaging }
            timeout: 10s
            concurrency: 8
            # retry: [...]                # per-destination override
          legacy-line-bot:
            url: http://bot.internal:3000/callback
            format: passthrough           # original provider body, LINE re-signed:
            line_channel_secret: ${BOT_CHANNEL_SECRET}

        routes:
          - from: [line, eightxeight]     # source ids; omitted = all
            types: ["delivery.*"]         # canonical types, glob; omitted = all
            to: [crm]
          - from: [line]
            to: [legacy-line-bot]
        """

    /// Environment that satisfies every `${VAR}` in `example`.
    static let exampleEnvironment = [
        "LINE_CHANNEL_SECRET": "line-secret-1",
        "EIGHTXEIGHT_WEBHOOK_PASSWORD": "8x8-password",
        "CRM_WEBHOOK_SECRET": crmSecret,
        "BOT_CHANNEL_SECRET": "bot-secret",
    ]

    /// A small valid document whose sections can be swapped out one at a time.
    static func document(
        top: String = "",
        sources: String = "  line:\n    provider: line\n    channel_secret: abc",
        destinations: String = "  crm:\n    url: http://crm.internal/x",
        routes: String = "  - to: [crm]"
    ) -> String {
        var text = top.isEmpty ? "" : top + "\n"
        text += "sources:\n" + sources + "\n"
        if !destinations.isEmpty { text += "destinations:\n" + destinations + "\n" }
        if !routes.isEmpty { text += "routes:\n" + routes + "\n" }
        return text
    }

    /// The issues `parse` reports for `yaml`, or an empty list when it succeeds.
    static func issues(_ yaml: String, environment: [String: String] = [:]) -> [ConfigIssue] {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, environment: environment)
            return []
        } catch {
            return error.issues
        }
    }

    /// The full `ConfigError`, or nil when parsing succeeds.
    static func error(_ yaml: String, environment: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, environment: environment)
            return nil
        } catch {
            return error
        }
    }
}
