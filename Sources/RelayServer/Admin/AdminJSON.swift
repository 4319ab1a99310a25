import Foundation
import Hummingbird
import NIOCore

/// Encodes the admin API's, health probes' and the CLI's `--json` bodies (Codable types, keys sorted so the
/// text is the same on every run). Provider bodies keep `JSONWriter`, which keeps member order and number text.
public enum AdminJSON {
    /// `value` as JSON text bytes.
    public static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The bodies are plain structs of strings and numbers (no non-finite doubles): encoding cannot fail.
        return (try? encoder.encode(value)) ?? Data("null".utf8)
    }

    /// `value` as JSON text, for the CLI.
    public static func text(_ value: some Encodable) -> String { String(decoding: encode(value), as: UTF8.self) }

    /// A JSON response with `status`.
    static func response(status: HTTPResponse.Status = .ok, _ value: some Encodable) -> Response {
        let bytes = encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
