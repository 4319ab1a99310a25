import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import RelayCore

/// `relay sink`: a tiny receiver that prints each forwarded event and whether its signature verifies.
struct Sink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Receive forwarded events and check their signatures.")

    @Option(help: "Port to listen on.") var port = 9000
    @Option(help: "Host to listen on.") var host = "127.0.0.1"
    @Option(help: "The destination's whsec_ secret: checks Standard Webhooks signatures.") var secret: String?
    @Option(help: "A LINE channel secret: checks X-Line-Signature of passthrough LINE events.") var lineSecret: String?
    @Option(help: "Answer with this status (to try retries and dead letters).") var status = 200

    func run() async throws {
        let key = try secret.map { s throws -> [UInt8] in
            guard let key = StandardWebhooks.key(fromSecret: s) else { throw CommandFailure.exit("--secret must be whsec_ followed by base64") }
            return key
        }
        let router = Router()
        let lineSecret = self.lineSecret
        let reply = HTTPResponse.Status(code: status)
        router.post("/**") { request, _ -> Response in
            let body = Array(buffer: try await request.body.collect(upTo: 16 << 20))
            let verdict = Sink.verdict(request.headers, body: body, key: key, lineSecret: lineSecret)
            // Written straight away (not buffered), so a terminal or a pipe sees each event as it arrives.
            FileHandle.standardOutput.write(Data("\(verdict)  \(request.uri.path)  \(String(decoding: body, as: UTF8.self))\n".utf8))
            return Response(status: reply)
        }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "relay-sink"))
        print("relay sink listening on http://\(host):\(port)/ (answering \(status))")
        try await app.runService()
    }

    static func verdict(_ headers: HTTPFields, body: [UInt8], key: [UInt8]?, lineSecret: String?) -> String {
        if let signature = headers[HTTPField.Name("X-Line-Signature")!] {
            guard let lineSecret else { return "LINE signature not checked (no --line-secret)" }
            let ok = LINEProvider().verify(credential: signature, body: body, source: SourceConfig(id: "sink", provider: .line, channelSecrets: [lineSecret]))
            return ok ? "LINE signature OK" : "LINE signature INVALID"
        }
        guard let id = headers[HTTPField.Name("webhook-id")!], let ts = headers[HTTPField.Name("webhook-timestamp")!].flatMap({ Int64($0) }) else {
            return "unsigned"
        }
        guard let header = headers[HTTPField.Name("webhook-signature")!] else { return "unsigned (\(id))" }
        guard let key else { return "signature not checked (no --secret)" }
        return StandardWebhooks.verify(key: key, id: id, timestamp: ts, body: body, header: header) ? "signature OK" : "signature INVALID"
    }
}
