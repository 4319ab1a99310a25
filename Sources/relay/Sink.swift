import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import RelayCore

/// `relay sink`: a tiny receiver that prints each forwarded event and whether its signature verifies.
struct Sink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive forwarded events and check their signatures.",
        discussion: "Provider options, for events from passthrough destinations:\n"
            + checks.map { "--\($0.option) <secret>: \($0.help)" }.joined(separator: "\n"))

    /// The providers' passthrough signature checks; each adds an option `--<option> <secret>`.
    static let checks = ProviderRegistry.all.compactMap(\.sinkCheck)

    @Option(help: "Port to listen on.") var port = 9000
    @Option(help: "Host to listen on.") var host = "127.0.0.1"
    @Option(help: "The destination's whsec_ secret: checks Standard Webhooks signatures.") var secret: String?
    @Option(help: "Answer with this status (to try retries and dead letters).") var status = 200
    // The providers' options are declared by the providers, so they are read here rather than as `@Option`s.
    @Argument(parsing: .allUnrecognized, help: .hidden) var providerOptions: [String] = []

    func validate() throws { _ = try providerSecrets() }

    /// `--<option> <secret>` (or `--<option>=<secret>`) of each provider check given, by option.
    func providerSecrets() throws -> [String: String] {
        var secrets: [String: String] = [:]
        var rest = providerOptions[...]
        while let argument = rest.popFirst() {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts[0].hasPrefix("--"), let check = Self.checks.first(where: { "--" + $0.option == parts[0] }) else {
                throw ValidationError("unknown option \(argument)")
            }
            guard let value = parts.count == 2 ? parts[1] : rest.popFirst() else {
                throw ValidationError("missing value for \(parts[0])")
            }
            secrets[check.option] = value
        }
        return secrets
    }

    func run() async throws {
        let key = try secret.map { s throws -> [UInt8] in
            guard let key = StandardWebhooks.key(fromSecret: s) else { throw CommandFailure.exit("--secret must be whsec_ followed by base64") }
            return key
        }
        let providerSecrets = try self.providerSecrets()
        let router = Router()
        let reply = HTTPResponse.Status(code: status)
        router.post("/**") { request, _ -> Response in
            let body = Array(buffer: try await request.body.collect(upTo: 16 << 20))
            let verdict = Sink.verdict(request.headers, body: body, key: key, providerSecrets: providerSecrets)
            // Written straight away (not buffered), so a terminal or a pipe sees each event as it arrives.
            FileHandle.standardOutput.write(Data("\(verdict)  \(request.uri.path)  \(String(decoding: body, as: UTF8.self))\n".utf8))
            return Response(status: reply)
        }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "relay-sink"))
        print("relay sink listening on http://\(host):\(port)/ (answering \(status))")
        try await app.runService()
    }

    static func verdict(_ headers: HTTPFields, body: [UInt8], key: [UInt8]?, providerSecrets: [String: String]) -> String {
        for check in checks {
            guard let signature = headers[HTTPField.Name(check.header)!] else { continue }
            guard let secret = providerSecrets[check.option] else { return "\(check.label) not checked (no --\(check.option))" }
            return check.verify(signature, body, secret) ? "\(check.label) OK" : "\(check.label) INVALID"
        }
        guard let id = headers[HTTPField.Name("webhook-id")!], let ts = headers[HTTPField.Name("webhook-timestamp")!].flatMap({ Int64($0) }) else {
            return "unsigned"
        }
        guard let header = headers[HTTPField.Name("webhook-signature")!] else { return "unsigned (\(id))" }
        guard let key else { return "signature not checked (no --secret)" }
        return StandardWebhooks.verify(key: key, id: id, timestamp: ts, body: body, header: header) ? "signature OK" : "signature INVALID"
    }
}
