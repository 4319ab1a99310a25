/// How events are written to a destination.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Relay's canonical JSON event, signed with Standard Webhooks when a secret is set.
    case canonical
    /// The provider's original body, re-signed for the destination where the provider needs it.
    case passthrough
}
