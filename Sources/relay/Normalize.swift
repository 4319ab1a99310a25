import ArgumentParser
import Foundation
import RelayCore

/// `relay normalize`: a provider body in, canonical events out (JSON lines). No server, no store.
struct Normalize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the canonical events of a provider webhook body.")

    @Option(name: .long, help: "\(ProviderRegistry.namesInWords).")
    var provider: String

    @Option(name: .long, help: "Source id to write in the events (default: the provider name).")
    var source: String?

    @Argument(help: "File with the body (default: standard input).")
    var file: String?

    func run() throws {
        guard let webhookProvider = ProviderRegistry.provider(named: provider.lowercased()) else {
            throw CommandFailure.exit("unknown provider \"\(provider)\" (use \(ProviderRegistry.namesInWords))")
        }
        let kind = webhookProvider.kind
        let body = try readBody(file: file)
        let events: [IncomingEvent]
        do {
            events = try webhookProvider.events(
                from: body, sourceID: source ?? kind.rawValue, receivedAtMilliseconds: Timestamp.nowMilliseconds())
        } catch {
            throw CommandFailure.exit("invalid \(kind.rawValue) body: \(error.message)")
        }
        var out: [UInt8] = []
        for event in events {
            out.append(contentsOf: event.canonical)
            out.append(0x0A)
        }
        FileHandle.standardOutput.write(Data(out))
    }
}
