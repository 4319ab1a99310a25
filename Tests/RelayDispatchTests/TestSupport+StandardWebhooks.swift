import Foundation
import RelayCore
import Testing

/// Signature checks by the Standard Webhooks project's own Python library (`standardwebhooks`), independent of relay's
/// code and of the tests' own HMAC: each hit's body and `webhook-*` headers, as the receiver got them.
enum StandardWebhooksLibrary {
    static let script = """
        import base64, json, sys
        from standardwebhooks.webhooks import Webhook
        hook = Webhook(sys.argv[1])
        for case in json.load(open(sys.argv[2])):
            try:
                hook.verify(base64.b64decode(case["body"]), case["headers"])
                print("ok")
            except Exception as error:
                print("fail: %s" % error)
        """

    /// One line per hit: `ok`, or `fail: <why>`.
    static func verify(secret: String, hits: [Hit]) throws -> [String] {
        let directory = try TempDirectory()
        defer { directory.remove() }
        let cases: [[String: Any]] = hits.map { hit in
            var headers: [String: String] = [:]
            for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] { headers[name] = hit.header(name) ?? "" }
            return ["body": Data(hit.body).base64EncodedString(), "headers": headers]
        }
        try JSONSerialization.data(withJSONObject: cases).write(to: URL(fileURLWithPath: directory.file("cases.json")))
        try script.write(toFile: directory.file("verify.py"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", directory.file("verify.py"), secret, directory.file("cases.json")]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the standardwebhooks check did not run")
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
