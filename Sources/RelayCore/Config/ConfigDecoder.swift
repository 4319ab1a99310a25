import Yams

/// Walks the composed YAML tree of `routes.yaml`, building a `RelayConfig` and collecting every issue on the way.
///
/// Nothing stops at the first problem: each reader reports and returns nil, and decoding carries on with defaults,
/// so one run shows the operator everything that needs fixing.
struct ConfigDecoder {
    /// Variables used for `${VAR}` expansion.
    let environment: [String: String]
    /// Errors found so far; any error makes the file invalid.
    private(set) var errors: [ConfigIssue] = []
    /// Warnings found so far.
    private(set) var warnings: [ConfigIssue] = []

    /// Source ids as written, including ones whose definition had errors (so routes do not cascade errors).
    var sourceIDs: [String] = []
    /// Variables whose default stood in for a secret, in order of appearance.
    var developmentSecrets: [String] = []
    /// Destination ids as written, with the line of their key.
    var destinationLines: [(id: String, line: Int?)] = []

    /// Longest retry schedule accepted.
    static let maxRetryEntries = 20
    /// Longest per-attempt destination timeout.
    static let maxDestinationTimeout: Duration = .seconds(300)

    private static let topLevelKeys = [
        "listen", "admin", "store", "limits", "dedup_window", "message_window", "retry", "retry_jitter", "shutdown_delay",
        "sources", "destinations", "routes",
    ]

    init(environment: [String: String]) {
        self.environment = environment
    }

    /// Records an error.
    mutating func error(_ path: String, _ line: Int?, _ message: String) {
        errors.append(ConfigIssue(path: path, line: line, message: message))
    }

    /// Records a warning.
    mutating func warn(_ path: String, _ line: Int?, _ message: String) {
        warnings.append(ConfigIssue(path: path, line: line, message: message))
    }

    /// Decodes the document root; check `errors` afterwards, the result is only meaningful when there are none.
    mutating func decode(_ root: Node?) -> RelayConfig {
        var config = RelayConfig()
        guard let root, !MappingFields.isNull(root) else {
            error("", nil, "the file is empty; it needs at least a sources mapping")
            return config
        }
        guard let top = fields(root, path: "", line: nil, allowed: Self.topLevelKeys) else { return config }
        if let node = top.value("listen") {
            config.listen = listenAddress(node, path: "listen") ?? config.listen
        }
        if let node = top.value("admin") { decodeAdmin(node, line: top.keyLine("admin"), into: &config) }
        if let node = top.value("store") { decodeStore(node, line: top.keyLine("store"), into: &config) }
        if let node = top.value("shutdown_delay") {
            config.shutdownDelay = duration(node, path: "shutdown_delay", max: RelayConfig.maximumStoreLease, allowZero: true) ?? config.shutdownDelay
        }
        if let node = top.value("limits") { decodeLimits(node, line: top.keyLine("limits"), into: &config) }
        if let node = top.value("dedup_window") {
            config.dedupWindow = duration(node, path: "dedup_window") ?? config.dedupWindow
        }
        if let node = top.value("message_window") {
            config.messageWindow = duration(node, path: "message_window") ?? config.messageWindow
        }
        if let node = top.value("retry") {
            config.retry = retrySchedule(node, path: "retry") ?? config.retry
        }
        if let node = top.value("retry_jitter") {
            config.retryJitter = jitter(node, path: "retry_jitter") ?? config.retryJitter
        }
        config.sources = decodeSources(top.value("sources"), line: top.keyLine("sources"))
        config.destinations = decodeDestinations(top.value("destinations"))
        config.routes = decodeRoutes(top.value("routes"), line: top.keyLine("routes"))
        checkRouting(config)
        checkAdminExposure(config, line: top.keyLine("admin"))
        // Issues are reported in file order; stable sorting keeps the walk order within a line.
        errors = Self.fileOrder(errors)
        config.warnings = Self.fileOrder(warnings)
        config.developmentSecrets = developmentSecrets
        return config
    }

    static func fileOrder(_ issues: [ConfigIssue]) -> [ConfigIssue] {
        issues.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
            .map(\.element)
    }

    private mutating func decodeAdmin(_ node: Node, line: Int?, into config: inout RelayConfig) {
        guard let admin = fields(node, path: "admin", line: line, allowed: ["listen", "token", "hosts"]) else { return }
        if let listen = admin.value("listen") {
            config.adminListen = listenAddress(listen, path: "admin.listen") ?? config.adminListen
        }
        if let token = admin.value("token"), let value = string(token, path: "admin.token", secret: true) {
            // `${RELAY_ADMIN_TOKEN:-}` must be able to mean "no token", so empty is the same as absent.
            config.adminToken = value.isEmpty ? nil : value
            // A short token falls to guessing even at the sign-in back-off's pace; the length is not a secret.
            if !value.isEmpty, value.count < RelayConfig.minimumAdminTokenLength {
                warn("admin.token", token.mark?.line, "the token is \(value.count) characters long; use at least "
                    + "\(RelayConfig.minimumAdminTokenLength) random ones (e.g. openssl rand -hex 16)")
            }
        }
        if let hosts = admin.value("hosts"), let names = stringList(hosts, path: "admin.hosts", example: "[relay-admin.internal]") {
            config.adminHosts = names.compactMap { name, node in
                guard let host = AdminHost.normalized(name) else {
                    error("admin.hosts", node.mark?.line, "\(Self.quoted(name)) is not a host name or IP address (write it without scheme or port, e.g. relay-admin.internal)")
                    return nil
                }
                return host
            }
        }
    }

    private mutating func checkAdminExposure(_ config: RelayConfig, line: Int?) {
        guard config.adminToken == nil, !config.adminListen.isLoopback else { return }
        warn("admin.token", line, "admin.listen \(config.adminListen) is not a loopback address and no token is set; "
            + "anyone who can reach it can use /admin/* (set admin.token)")
    }

    private mutating func decodeStore(_ node: Node, line: Int?, into config: inout RelayConfig) {
        guard let store = fields(node, path: "store", line: line, allowed: ["sqlite", "postgres", "lease"]) else { return }
        if let lease = store.value("lease") {
            config.storeLease = duration(lease, path: "store.lease", max: RelayConfig.maximumStoreLease) ?? config.storeLease
        }
        config.store = storeKind(store) ?? config.store
    }

    private mutating func storeKind(_ store: MappingFields) -> StoreConfig? {
        switch (store.value("sqlite"), store.value("postgres")) {
        case (let sqlite?, nil):
            return nonEmptyString(sqlite, path: "store.sqlite").map { .sqlite(path: $0) }
        case (nil, let postgres?):
            guard let url = nonEmptyString(postgres, path: "store.postgres") else { return nil }
            return postgresStore(url: url, line: postgres.mark?.line)
        case (.some, .some):
            error("store", store.line, "set exactly one of store.sqlite or store.postgres, not both")
        case (nil, nil):
            error("store", store.line, "set one of store.sqlite (e.g. ./data/relay.db) or store.postgres")
        }
        return nil
    }

    /// A connection URL of the right shape; the messages name what is wrong, never the URL (it holds a password).
    private mutating func postgresStore(url: String, line: Int?) -> StoreConfig? {
        if let problem = PostgresURLShape.problem(url) {
            error("store.postgres", line, problem)
            return nil
        }
        return .postgres(url: url)
    }

    private mutating func decodeLimits(_ node: Node, line: Int?, into config: inout RelayConfig) {
        let keys = ["max_body", "read_timeout", "body_timeout", "max_connections", "max_buffered"]
        guard let limits = fields(node, path: "limits", line: line, allowed: keys) else { return }
        if let node = limits.value("max_body") {
            config.maxBody = size(node, path: "limits.max_body", max: RelayConfig.maximumMaxBody) ?? config.maxBody
        }
        if let node = limits.value("read_timeout") {
            config.readTimeout = duration(node, path: "limits.read_timeout") ?? config.readTimeout
        }
        if let node = limits.value("body_timeout") {
            config.bodyTimeout = duration(node, path: "limits.body_timeout", max: .seconds(600)) ?? config.bodyTimeout
        }
        if let node = limits.value("max_connections") {
            config.maxConnections = integer(node, path: "limits.max_connections", in: 1...1_000_000) ?? config.maxConnections
        }
        if let node = limits.value("max_buffered") {
            config.maxBuffered = size(node, path: "limits.max_buffered", max: RelayConfig.maximumMaxBuffered) ?? config.maxBuffered
        }
        if config.maxBuffered < config.maxBody {
            error("limits.max_buffered", limits.keyLine("max_buffered") ?? line,
                  "must be at least limits.max_body (\(SizeText.format(config.maxBody))), or no body could ever be read")
        }
    }

    private mutating func size(_ node: Node, path: String, max: Int) -> Int? {
        guard let text = string(node, path: path) else { return nil }
        guard let bytes = SizeText.parse(text) else {
            error(path, node.mark?.line, "invalid size \(Self.quoted(text)) (use an integer with B, KiB, MiB or GiB, e.g. 1MiB)")
            return nil
        }
        guard bytes > 0, bytes <= max else {
            error(path, node.mark?.line, "must be greater than 0 and at most \(SizeText.format(max))")
            return nil
        }
        return bytes
    }

    private mutating func jitter(_ node: Node, path: String) -> Double? {
        guard let text = string(node, path: path) else { return nil }
        let number = text.hasSuffix("%") ? String(text.dropLast()) : ""
        let isDecimal = !number.isEmpty && number.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
            && number.first != "." && number.last != "."
        guard isDecimal, let percent = Double(number), percent <= 100 else {
            error(path, node.mark?.line, "invalid jitter \(Self.quoted(text)) (use a percentage from 0% to 100%, e.g. 10%)")
            return nil
        }
        return percent / 100
    }
}
