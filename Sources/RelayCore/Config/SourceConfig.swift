/// One webhook source, served at `POST /webhooks/<id>`.
public struct SourceConfig: Sendable, CustomStringConvertible {
    /// The id from the config (`[A-Za-z0-9_-]+`), also the URL path segment.
    public var id: String
    /// Which provider sends to this source; resolved at config time, so a request looks nothing up.
    public var provider: any WebhookProvider
    /// The provider's own settings (its credentials), decoded and prepared by the provider.
    public var settings: any ProviderSourceSettings
    /// Source-address allow list; empty means any address.
    public var allowFrom: [IPRange]
    /// How long a message may stay `queued` or `sent` before relay emits `delivery.overdue` (SPEC section 10); nil: never.
    public var expectReceipt: Duration?

    /// Whether this source's status events join the receipt ledger (SPEC section 10).
    public var keepsLedger: Bool { provider.ledgerOnEverySource || expectReceipt != nil }

    /// Creates a source.
    public init(id: String, provider: any WebhookProvider, settings: any ProviderSourceSettings, allowFrom: [IPRange] = [],
                expectReceipt: Duration? = nil) {
        self.id = id
        self.provider = provider
        self.settings = settings
        self.allowFrom = allowFrom
        self.expectReceipt = expectReceipt
    }

    /// The settings as a provider's own type; nil when they are another provider's.
    public func settings<Settings: ProviderSourceSettings>(as type: Settings.Type) -> Settings? {
        settings as? Settings
    }

    /// How requests are authenticated, in words and without any secret.
    public var authenticationSummary: String { settings.authenticationSummary }

    /// `id (provider, authentication[, allow_from ranges])`; never shows secrets.
    public var description: String {
        var text = "\(id) (\(provider.kind.rawValue), \(authenticationSummary)"
        if !allowFrom.isEmpty {
            text += ", allow_from \(allowFrom.map(\.description).joined(separator: " "))"
        }
        if let expectReceipt { text += ", expect_receipt \(DurationText.format(expectReceipt))" }
        return text + ")"
    }
}
