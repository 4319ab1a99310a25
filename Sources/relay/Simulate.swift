import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import RelayCore

/// `relay simulate SAMPLE`: sends a correctly signed sample webhook to a running relay.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a signed sample provider webhook to a running relay.",
        discussion: "Samples: " + sampleNames.joined(separator: ", "))

    /// Every provider's samples, in registry order.
    static var sampleNames: [String] { ProviderRegistry.all.flatMap(\.sampleNames) }

    @OptionGroup var options: ConfigOptions
    @Argument(help: "The sample to send.") var sample: String
    @Option(help: "Where to send it (default: the config's listen address and the source's path).") var to: String?
    @Option(help: "Source id whose credentials sign it (default: the first source of the sample's provider).") var source: String?
    @Option(help: "How many (each with fresh ids).") var count = 1

    func run() async throws {
        guard let provider = ProviderRegistry.provider(ofSample: sample) else {
            throw CommandFailure.exit("unknown sample \"\(sample)\" (known: \(Self.sampleNames.joined(separator: ", ")))")
        }
        let config = try options.load()
        let kind = provider.kind
        guard let src = source.flatMap(config.source) ?? config.sources.first(where: { $0.provider.kind == kind }) else {
            throw CommandFailure.exit(source.map { "no source \"\($0)\" in \(options.path)" } ?? "no \(kind.rawValue) source in \(options.path)")
        }
        guard src.provider.kind == kind else { throw CommandFailure.exit("source \(src.id) is \(src.provider.kind.rawValue), but \(sample) is a \(kind.rawValue) sample") }
        let host = ["0.0.0.0", "::", "[::]"].contains(config.listen.host) ? "127.0.0.1" : config.listen.host
        let url = to ?? "http://\(host):\(config.listen.port)/webhooks/\(src.id)"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await send(source: src, provider: provider, url: url, client: client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func send(source src: SourceConfig, provider: any WebhookProvider, url: String, client: HTTPClient) async throws {
        for _ in 0..<max(1, count) {
            let body = provider.sampleBody(sample) ?? []
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let credential = src.settings.credential(for: body) {
                request.headers.add(name: provider.credentialHeader, value: credential)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                let reply = try await response.body.collect(upTo: 64 * 1024)
                print("\(response.status.code) \(String(buffer: reply))")
            } catch {
                throw CommandFailure.exit("cannot reach \(url): \(error)")
            }
        }
    }
}
