import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import RelayCore

/// One JSON object per line on stdout: `time`, `level`, `label`, `message` and the dot-keyed metadata,
/// with phone numbers and phone hashes masked wherever they appear.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    /// Metadata of the moment (the current span's ids when tracing is on).
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object = JSONObject()
        object.append("time", .string(Timestamp.format(epochMilliseconds: Timestamp.nowMilliseconds())))
        object.append("level", .string(event.level.rawValue))
        object.append("label", .string(label))
        object.append("message", .string(Redaction.mask(event.message.description)))
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { $1 } }
        merged.merge(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            object.append(key, Self.json(merged[key]!))
        }
        var bytes = JSONWriter.serialize(.object(object))
        bytes.append(0x0A)
        // One write(2) per line keeps lines whole when several tasks log at once.
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(Redaction.mask(s))
        case .stringConvertible(let c):
            let text = c.description
            if c is any BinaryInteger || c is Double { return .number(text) }
            return .string(Redaction.mask(text))
        case .array(let items): return .array(items.map(json))
        case .dictionary(let dict): return .object(JSONObject(dict.keys.sorted().map { .init(key: $0, value: json(dict[$0]!)) }))
        }
    }
}

/// Masks what must not reach logs: E.164 phone numbers (`+6512****78`) and 64-hex phone hashes.
public enum Redaction {
    public static func mask(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(where: { $0 >= 48 && $0 <= 57 }) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            // A run of digits, optionally after '+', of phone length.
            if isDigit(bytes[i]) || (bytes[i] == UInt8(ascii: "+") && i + 1 < bytes.count && isDigit(bytes[i + 1])) {
                var j = bytes[i] == UInt8(ascii: "+") ? i + 1 : i
                while j < bytes.count, isDigit(bytes[j]) { j += 1 }
                let digits = j - (bytes[i] == UInt8(ascii: "+") ? i + 1 : i)
                if digits >= 8 && digits <= 15 && (i == 0 || !isWord(bytes[i - 1])) && (j == bytes.count || !isWord(bytes[j])) {
                    let keepHead = bytes[i] == UInt8(ascii: "+") ? 5 : 4
                    out.append(contentsOf: bytes[i..<(i + keepHead)])
                    out.append(contentsOf: Array("****".utf8))
                    out.append(contentsOf: bytes[(j - 2)..<j])
                    i = j
                    continue
                }
                if bytes[i] == UInt8(ascii: "+") { out.append(bytes[i]); i += 1; continue }
            }
            if isHex(bytes[i]) && (i == 0 || !isWord(bytes[i - 1])) {
                var j = i
                while j < bytes.count, isHex(bytes[j]) { j += 1 }
                if j - i == 64 && (j == bytes.count || !isWord(bytes[j])) {
                    out.append(contentsOf: bytes[i..<(i + 4)])
                    out.append(contentsOf: Array("****".utf8))
                    out.append(contentsOf: bytes[(j - 2)..<j])
                    i = j
                    continue
                }
                out.append(contentsOf: bytes[i..<j])
                i = j
                continue
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    private static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 97 && b | 0x20 <= 102) }
    private static func isWord(_ b: UInt8) -> Bool { isHex(b) || (b | 0x20 >= 97 && b | 0x20 <= 122) || b == UInt8(ascii: "_") }
}
