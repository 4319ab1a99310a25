/// The rules for a provider value that relay keys on, stores as text or sends in a header (SPEC section 13).
///
/// Such a value must be one a database can hold as text and a header can carry: at most ``maxBytes`` of UTF-8, with
/// no control character (U+0000 to U+001F, U+007F). PostgreSQL refuses a NUL in text outright, and a long id became a
/// dedup key, a `webhook-id` header and a log line as it was. Real ids are 26 to 100 bytes. JSON parsing already
/// refuses invalid UTF-8 and unpaired surrogates, so what passes here is text every store holds byte for byte.
public enum ProviderValue {
    /// The longest id (or type, state, channel, account) relay accepts from a provider, in bytes of UTF-8.
    public static let maxBytes = 256

    /// `value` if it may be keyed on, else a `PayloadError` naming `field` (and never echoing the value).
    public static func checked(_ value: String, field: String) throws(PayloadError) -> String {
        if let problem = problem(value) { throw PayloadError("\(field) \(problem)") }
        return value
    }

    /// The same for an optional value: nil stays nil.
    public static func checked(optional value: String?, field: String) throws(PayloadError) -> String? {
        guard let value else { return nil }
        return try checked(value, field: field)
    }

    /// Why `value` cannot be keyed on, in words that end a sentence starting with its field's name; nil if it can.
    public static func problem(_ value: String) -> String? {
        let utf8 = value.utf8
        if utf8.count > maxBytes { return "is longer than \(maxBytes) bytes (\(utf8.count))" }
        // A plain loop over contiguous bytes where the string has them (native strings do): the generic scan costs more.
        let isControl = { (byte: UInt8) in byte < 0x20 || byte == 0x7F }
        let control = utf8.withContiguousStorageIfAvailable { $0.contains(where: isControl) } ?? utf8.contains(where: isControl)
        if control { return "contains a control character (U+0000 to U+001F or U+007F)" }
        return nil
    }
}
