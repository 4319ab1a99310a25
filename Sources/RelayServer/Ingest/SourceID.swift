/// What a request's `<source-id>` path segment may be echoed as: the sender chooses it, so an id that is not one a
/// config can name is never logged or answered in full (200 requests with ~80 KiB ids once added 16 MB of log).
enum SourceID {
    /// The longest id echoed whole.
    static let maxEchoed = 64

    /// `[A-Za-z0-9_-]{1,64}`.
    static func isValid(_ id: String) -> Bool {
        let bytes = id.utf8
        return !bytes.isEmpty && bytes.count <= maxEchoed && bytes.allSatisfy(isIDByte)
    }

    /// The id itself when valid; otherwise its first valid characters and its length, e.g. `abc...(81920 bytes)`.
    static func loggable(_ id: String) -> String {
        if isValid(id) { return id }
        let prefix = String(decoding: id.utf8.prefix(16).filter(isIDByte), as: UTF8.self)
        return prefix + "...(\(id.utf8.count) bytes)"
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"): return true
        default: return false
        }
    }
}
