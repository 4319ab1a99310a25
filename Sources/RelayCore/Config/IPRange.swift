#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 CIDR range such as `203.0.113.0/24` or `2001:db8::/32`; a bare address means a single host.
public struct IPRange: Sendable, Equatable, CustomStringConvertible {
    /// Network address bytes (4 or 16), with host bits cleared.
    private var network: [UInt8]
    /// Prefix length in bits.
    private var prefix: Int

    /// Parses `addr/prefix` or a bare `addr`; nil when either part is invalid.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = Self.addressBytes(String(parts[0])) else { return nil }
        let maxPrefix = bytes.count * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(digits), value <= maxPrefix else { return nil }
            prefix = value
        }
        self.prefix = prefix
        // Host bits are cleared so `1.2.3.4/24` behaves (and prints) as `1.2.3.0/24`.
        self.network = Self.masked(bytes, prefix: prefix)
    }

    /// Whether `address` (IPv4 or IPv6 text) is inside this range; false for unparsable input.
    public func contains(_ address: String) -> Bool {
        var text = address
        // A zone index (`fe80::1%eth0`) is not part of the address for matching purposes.
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        guard var bytes = Self.addressBytes(text) else { return false }
        // IPv4 clients often show up as IPv4-mapped IPv6 (`::ffff:1.2.3.4`) on dual-stack sockets.
        if network.count == 4, bytes.count == 16 {
            guard Array(bytes[0..<12]) == Self.mappedPrefix else { return false }
            bytes = Array(bytes[12...])
        } else if network.count == 16, bytes.count == 4 {
            bytes = Self.mappedPrefix + bytes
        }
        return Self.masked(bytes, prefix: prefix) == network
    }

    /// `network/prefix` in canonical text form.
    public var description: String {
        "\(Self.text(network))/\(prefix)"
    }

    private static let mappedPrefix: [UInt8] = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]

    /// Parses an IPv4 or IPv6 address with `inet_pton`; 4 or 16 bytes in network order.
    static func addressBytes(_ text: String) -> [UInt8]? {
        // An embedded NUL would silently truncate the C string and accept trailing garbage.
        guard !text.isEmpty, !text.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    private static func masked(_ bytes: [UInt8], prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsKept = min(max(prefix - index * 8, 0), 8)
            let mask: UInt8 = bitsKept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bitsKept))
            return byte & mask
        }
    }

    private static func text(_ bytes: [UInt8]) -> String {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
