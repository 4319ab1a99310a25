/// The webhook provider a source receives from; decides how requests are authenticated and parsed.
public enum ProviderKind: String, Sendable, CaseIterable {
    /// LINE Messaging API (HMAC-SHA256 `X-Line-Signature` with the channel secret).
    case line = "line"
    /// 8x8 (a static `Authorization` header registered with 8x8).
    case eightByEight = "8x8"
}
