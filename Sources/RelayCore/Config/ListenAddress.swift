#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `host:port` socket address to listen on; IPv6 hosts are written `[::1]:8080`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// IPv4 address, hostname, or IPv6 address (without brackets).
    public var host: String
    /// TCP port, 1...65535.
    public var port: Int

    /// Creates an address without validating it.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port`; nil when the text is not a valid listen address.
    public init?(_ text: String) {
        guard case .success(let address) = Self.parse(text) else { return nil }
        self = address
    }

    /// True for `localhost`, 127.0.0.0/8 and `::1` (also IPv4-mapped loopback).
    public var isLoopback: Bool {
        if host.lowercased() == "localhost" { return true }
        guard let bytes = IPRange.addressBytes(host) else { return false }
        if bytes.count == 4 { return bytes[0] == 127 }
        if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
        let mappedPrefix = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
        return Array(bytes[0..<12]) == mappedPrefix && bytes[12] == 127
    }

    /// `host:port`, with brackets around IPv6 hosts.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Why a listen address was rejected, worded to finish "invalid listen address: ...".
    struct Problem: Error {
        var reason: String
    }

    /// Parses and explains failures, so the loader can give a specific message.
    static func parse(_ text: String) -> Result<ListenAddress, Problem> {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(Problem(reason: "missing \"]\" after the IPv6 address"))
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                return .failure(Problem(reason: "expected \":port\" after \"]\""))
            }
            portPart = rest.dropFirst()
            guard let bytes = IPRange.addressBytes(String(hostPart)), bytes.count == 16 else {
                return .failure(Problem(reason: "\"\(hostPart)\" is not an IPv6 address"))
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(Problem(reason: "expected host:port, e.g. 0.0.0.0:8080"))
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                return .failure(Problem(reason: "write IPv6 hosts in brackets, e.g. [::]:8080"))
            }
            if let problem = hostProblem(String(hostPart)) { return .failure(problem) }
        }
        guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portPart), (1...65535).contains(port) else {
            return .failure(Problem(reason: "port must be a number from 1 to 65535"))
        }
        return .success(ListenAddress(host: String(hostPart), port: port))
    }

    /// Checks an unbracketed host: a dotted-quad IPv4 address or an RFC 1123 hostname.
    private static func hostProblem(_ host: String) -> Problem? {
        if host.isEmpty {
            return Problem(reason: "missing host (use 0.0.0.0 for all interfaces)")
        }
        // All-numeric hosts must be real IPv4 addresses; otherwise "1.2.3" would pass as a hostname.
        if host.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            return IPRange.addressBytes(host)?.count == 4 ? nil : Problem(reason: "\"\(host)\" is not an IPv4 address")
        }
        guard host.utf8.count <= 253 else { return Problem(reason: "hostname is too long") }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        return valid ? nil : Problem(reason: "\"\(host)\" is not a valid IPv4 address or hostname")
    }
}
