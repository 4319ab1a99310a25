extension RelayConfig {
    /// A short human summary for `relay check`; shows how things are authenticated, never the secrets.
    public func summary() -> String {
        var lines: [String] = []
        lines.append("listen: \(listen)")
        let tokenState = adminToken == nil ? "no admin token" : "/admin/* needs a bearer token"
        let hostsText = adminHosts.isEmpty ? "" : "; also answers Host " + adminHosts.joined(separator: ", ")
        lines.append("admin: \(adminListen) (\(tokenState)\(hostsText))")
        lines.append("store: \(store), lease \(DurationText.format(storeLease))"
            + (shutdownDelay > .zero ? "; shutdown_delay \(DurationText.format(shutdownDelay))" : ""))
        lines.append("limits: max_body \(SizeText.format(maxBody)), read_timeout \(DurationText.format(readTimeout)), "
            + "body_timeout \(DurationText.format(bodyTimeout)), max_connections \(maxConnections), "
            + "max_buffered \(SizeText.format(maxBuffered)), dedup_window \(DurationText.format(dedupWindow)), "
            + "message_window \(DurationText.format(messageWindow))")
        lines.append("retry: \(Self.schedule(retry))\(jitterText)")
        lines.append("sources (\(sources.count)):")
        lines += sources.map { "  \($0)" }
        lines.append("destinations (\(destinations.count)):")
        for destination in destinations {
            var line = "  \(destination)"
            if let own = destination.retry { line += " retry \(Self.schedule(own))" }
            lines.append(line)
        }
        lines.append("routes (\(routes.count)):")
        lines += routes.map { "  \($0)" }
        if routes.isEmpty { lines.append("  (none: events are stored but not forwarded)") }
        return lines.joined(separator: "\n")
    }

    private var jitterText: String {
        guard retryJitter > 0 else { return "" }
        let percent = retryJitter * 100
        let text = percent == percent.rounded() ? String(Int(percent)) : String(percent)
        return ", jitter \(text)%"
    }

    private static func schedule(_ delays: [Duration]) -> String {
        delays.map { DurationText.format($0) }.joined(separator: ", ") + " then dead letter"
    }
}
