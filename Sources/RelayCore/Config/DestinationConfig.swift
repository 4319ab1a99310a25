/// One HTTP endpoint events are delivered to.
public struct DestinationConfig: Sendable, CustomStringConvertible {
    /// The id from the config (`[A-Za-z0-9_-]+`).
    public var id: String
    /// Absolute http or https URL.
    public var url: String
    /// Canonical event JSON or the provider's original body.
    public var format: OutputFormat
    /// The whole Standard Webhooks secret (`whsec_<base64>`), when deliveries are signed.
    public var secret: String?
    /// The base64-decoded key part of `secret` (1...64 bytes), used for HMAC-SHA256.
    public var signingKey: [UInt8]? { didSet { signer = signingKey.map { KeyedHMAC(key: $0) } } }
    /// `signingKey`, keyed for HMAC once rather than per attempt.
    public private(set) var signer: KeyedHMAC?
    /// Settings providers keep here (their own `destinations.<id>` keys), at most one per provider.
    public var providerSettings: [any ProviderDestinationSettings]
    /// Extra request headers, in config order.
    public var headers: [(name: String, value: String)]
    /// Per-attempt request timeout.
    public var timeout: Duration
    /// Maximum deliveries in flight to this destination.
    public var concurrency: Int
    /// Per-destination retry schedule; nil means the top-level `retry`.
    public var retry: [Duration]?
    /// `batch`: canonical events go out as CloudEvents batches (a JSON array) of up to this many events per request;
    /// nil sends one event per request (structured mode).
    public var batch: Int?
    /// The destination's circuit (SPEC section 12); nil is `breaker: off`, the plain retry schedule.
    public var breaker: BreakerSettings? = BreakerSettings()
    /// `rate`: at most this many attempts started per second, per instance; nil: no cap.
    public var rate: Double?
    /// `redact`: fields removed from what this destination receives (canonical format; SPEC section 16).
    public var redact: [FieldPath] = []
    /// `ordering`: whether jobs of one subject are attempted one at a time, in the order their events were stored.
    public var ordering: DeliveryOrdering = .none

    /// Default per-attempt timeout.
    public static let defaultTimeout: Duration = .seconds(10)
    /// Default number of deliveries in flight.
    public static let defaultConcurrency = 8
    /// The largest `batch`.
    public static let maxBatch = 1_000

    /// Creates a destination.
    public init(id: String, url: String, format: OutputFormat = .canonical, secret: String? = nil,
                signingKey: [UInt8]? = nil, providerSettings: [any ProviderDestinationSettings] = [],
                headers: [(name: String, value: String)] = [], timeout: Duration = Self.defaultTimeout,
                concurrency: Int = Self.defaultConcurrency, retry: [Duration]? = nil, batch: Int? = nil) {
        self.id = id
        self.url = url
        self.format = format
        self.secret = secret
        self.signingKey = signingKey
        self.signer = signingKey.map { KeyedHMAC(key: $0) }
        self.providerSettings = providerSettings
        self.headers = headers
        self.timeout = timeout
        self.concurrency = concurrency
        self.retry = retry
        self.batch = batch
    }

    /// The settings of the provider `kind`, if it keeps any here; a short scan, as a destination has one or none.
    public func providerSettings(for kind: ProviderKind) -> (any ProviderDestinationSettings)? {
        providerSettings.first { $0.kind == kind }
    }

    /// The settings of a provider's own type.
    public func providerSettings<Settings: ProviderDestinationSettings>(_ type: Settings.Type) -> Settings? {
        providerSettings.lazy.compactMap { $0 as? Settings }.first
    }

    /// The URL with any `user:password@` replaced by `***@`, safe to print.
    public var redactedURL: String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let authorityEnd = url[schemeEnd.upperBound...].firstIndex(where: { "/?#".contains($0) }) ?? url.endIndex
        guard let at = url[schemeEnd.upperBound..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + "***" + String(url[at...])
    }

    /// `id -> url (format, signed|unsigned)`; never shows secrets or header values.
    public var description: String {
        var signing: [String] = []
        if secret != nil { signing.append("signed") }
        if format == .passthrough { signing += providerSettings.map(\.summary) }
        var traits = [format.rawValue]
        if let batch { traits.append("batches of up to \(batch)") }
        if let rate { traits.append("rate \(RateText.format(rate))") }
        if ordering == .subject { traits.append("ordered by subject") }
        if !redact.isEmpty { traits.append("without " + redact.map(\.description).joined(separator: ", ")) }
        // The circuit is shown only when it is not the default one.
        if breaker != BreakerSettings() { traits.append(breaker.map { "breaker \($0)" } ?? "breaker off") }
        traits += signing.isEmpty ? ["unsigned"] : signing
        return "\(id) -> \(redactedURL) (\(traits.joined(separator: ", ")))"
    }
}

/// How a destination's jobs are ordered (SPEC section 14).
public enum DeliveryOrdering: String, Sendable, CaseIterable {
    /// Every job goes as soon as a slot is free (the default).
    case none
    /// The jobs of one subject go one at a time, in the order relay stored their events.
    case subject
}
