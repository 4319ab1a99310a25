/// The `Host` values the admin listener answers: its own listen address, `localhost`, the names in `admin.hosts`,
/// and, on a wildcard listen address (`0.0.0.0`, `::`), any IP address.
///
/// DNS rebinding gives a hostile page a name of its own that resolves to the admin listener, so the browser treats
/// the listener as that page's origin; the `Host` header still carries the hostile name, and that is what is checked.
/// An IP literal cannot be rebound, which is why a wildcard listener takes any.
public enum AdminHost {
    /// `text` as it is compared: lowercased, without a trailing dot or IPv6 brackets; nil when it is not a host name or
    /// an IP address (a scheme, a port, a path, a space).
    public static func normalized(_ text: String) -> String? {
        var host = text.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        if IPRange.addressBytes(host) != nil { return host }
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
        // All digits and dots but not an IPv4 address ("1.2.3") is no host either.
        guard valid, !host.allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
        return host
    }

    /// The host of a `Host` header value (`name`, `name:port`, `[v6]:port`), normalized; nil when malformed.
    public static func host(ofHeader value: String) -> String? {
        var text = Substring(value)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || Self.isPort(rest) else { return nil }
            text = text[...close]
        } else if let colon = text.lastIndex(of: ":") {
            guard Self.isPort(text[colon...]) else { return nil }
            text = text[..<colon]
        }
        return normalized(String(text))
    }

    /// Whether a request whose `Host` header is `header` is meant for an admin listener on `listen` with `admin.hosts`
    /// `hosts`. A request without the header (HTTP/1.0) is not: every browser and scraper sends one.
    public static func allows(_ header: String?, listen: ListenAddress, hosts: [String]) -> Bool {
        guard let header, let host = host(ofHeader: header) else { return false }
        if host == "localhost" || hosts.contains(host) || host == normalized(listen.host) { return true }
        guard let bytes = IPRange.addressBytes(host), let own = IPRange.addressBytes(listen.host) else { return false }
        if own.allSatisfy({ $0 == 0 }) { return true }  // 0.0.0.0 or ::: every address of the machine is its own
        return bytes == own
    }

    private static func isPort(_ text: Substring) -> Bool {
        let digits = text.dropFirst()
        return text.first == ":" && !digits.isEmpty && digits.count <= 5 && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
