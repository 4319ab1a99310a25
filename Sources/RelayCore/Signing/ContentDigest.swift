import Crypto

/// An id derived from content: the first 128 bits of its SHA-256, as 32 lowercase hex digits. The same bytes always
/// give the same id (an event without an id of its own; a batch of the same events in the same order).
public enum ContentDigest {
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(32)
        for byte in SHA256.hash(data: bytes).prefix(16) { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: text, as: UTF8.self)
    }
}
