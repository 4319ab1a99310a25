/// Text from outside (a backend's response, an error in a library's words, a provider value) made safe to store as
/// text and to print: a database refuses a NUL byte in a text column, and a log line must not carry 100 KB of it.
public enum PrintableText {
    /// `bytes` as text: valid UTF-8 kept as it is, each byte that is not valid UTF-8 and each control character other
    /// than tab, line feed and carriage return written as `\xNN`. Every store holds the result; it reads as the bytes
    /// did wherever they were text.
    public static func escaping(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            return String(decoding: bytes, as: UTF8.self)  // plain ASCII: nothing to escape
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0
            if length == 1 {
                if lead < 0x20 && lead != 0x09 && lead != 0x0A && lead != 0x0D || lead == 0x7F { appendEscape(lead, to: &out) } else { out.append(lead) }
                index += 1
            } else if length > 1, index + length <= bytes.count, String(validating: bytes[index..<index + length], as: UTF8.self) != nil {
                out.append(contentsOf: bytes[index..<index + length])
                index += length
            } else {
                appendEscape(lead, to: &out)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `text` with its control characters (but tab, line feed and carriage return) escaped, then cut to `maxBytes`.
    public static func escaping(_ text: String, maxBytes: Int) -> String {
        cut(escaping(text.utf8), maxBytes: maxBytes)
    }

    /// `text` if it has at most `maxBytes` bytes of UTF-8; else its longest prefix of whole characters that leaves room
    /// for a marker saying how long it was: `abc…(100000 bytes)`.
    public static func cut(_ text: String, maxBytes: Int) -> String {
        let total = text.utf8.count
        guard total > maxBytes else { return text }
        let marker = "…(\(total) bytes)"
        let budget = max(0, maxBytes - marker.utf8.count)
        var used = 0
        var end = text.startIndex
        for index in text.unicodeScalars.indices {
            let size = text.unicodeScalars[index].utf8.count
            if used + size > budget { break }
            used += size
            end = text.unicodeScalars.index(after: index)
        }
        return String(text.unicodeScalars[..<end]) + marker
    }

    private static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
