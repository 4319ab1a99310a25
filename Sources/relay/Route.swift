import ArgumentParser
import Foundation
import RelayCore

/// `relay route`: which routes and destinations each event of a provider body would reach under a configuration, and
/// what each destination would receive. Nothing is stored or sent: the way to try a `where` or a `redact` before a
/// reload.
struct Route: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show where each event of a provider webhook body would go, and what each destination would receive.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "The source the body arrives at (its provider decides how it is read).")
    var source: String

    @Flag(name: .long, help: "Print only the routing, not the bodies.")
    var brief = false

    @Argument(help: "File with the body (default: standard input).")
    var file: String?

    func run() throws {
        let config = try options.load()
        guard let source = config.source(source) else {
            throw CommandFailure.exit("unknown source \"\(self.source)\" (known: \(config.sources.map(\.id).joined(separator: ", ")))")
        }
        let body = try readBody(file: file)
        let events: [IncomingEvent]
        do {
            events = try source.provider.events(from: body, sourceID: source.id, receivedAtMilliseconds: Timestamp.nowMilliseconds())
        } catch {
            throw CommandFailure.exit("invalid \(source.provider.kind.rawValue) body: \(error.message)")
        }
        let table = config.routingTable
        var out = ""
        for event in events {
            let decision = table.route(event, sourceID: source.id)
            out += "event \(event.id) (\(event.type)\(event.subject.map { ", subject \($0)" } ?? ""))\n"
            if decision.routes.isEmpty { out += "  no route matches: stored, sent nowhere\n" }
            for index in decision.routes { out += "  routes[\(index)]: \(table.routes[index])\n" }
            for (ids, note) in [(decision.always, ""), (decision.ifAdvancing, " (only if it advances its message)")] {
                for id in ids {
                    guard let destination = config.destination(id) else { continue }
                    out += "  -> \(id)\(note): \(describe(event, to: destination, brief: brief))\n"
                }
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    /// What `destination` would receive for `event`: the body, as one line.
    private func describe(_ event: IncomingEvent, to destination: DestinationConfig, brief: Bool) -> String {
        switch destination.format {
        case .passthrough:
            return brief ? "the provider's own body" : "the provider's own body " + String(decoding: event.passthrough, as: UTF8.self)
        case .canonical:
            let redacted = destination.redact.isEmpty ? "" : "without \(destination.redact.map(\.description).joined(separator: ", ")) "
            guard !brief else { return "the canonical event " + redacted }
            guard let body = Redaction.apply(destination.redact, to: event.canonical) else { return "nothing (the event cannot be read back)" }
            return "the canonical event \(redacted)" + String(decoding: body, as: UTF8.self)
        }
    }
}
