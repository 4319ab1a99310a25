import AsyncHTTPClient
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RelayCore
import Testing

/// Refusals of SPEC section 4: 400, 403, 404, 405, 413, each with nothing stored.
@Suite("Ingest: refusals")
struct IngestRejectionTests {
    @Test(arguments: ["this is not json", "[]", "{\"destination\":\"U1\"}", "{\"events\":{}}", "{\"events\":[]} trailing", ""])
    func bodyNotJSONOrNotLINEShape(body: String) async throws {
        try await IngestServer.test { client, store in
            let response = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body))
            try HTTP.expectError(response, .badRequest, "invalid_payload")
            #expect(try await store.stats().events == 0)
        }
    }

    @Test(arguments: [#"{"webhookEventId":"01GBAD","timestamp":1}"#, "42", #"{"type":"delivery","webhookEventId":"01GBAD","timestamp":"soon"}"#])
    func oneMalformedEventRejectsTheWholeRequest(bad: String) async throws {
        try await IngestServer.test { client, store in
            let body = LINEBody.body([LINEBody.event("01GGOOD1"), bad, LINEBody.event("01GGOOD2")])
            let response = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body))
            try HTTP.expectError(response, .badRequest, "invalid_payload")
            #expect(try HTTP.json(response)["message"]?.stringValue?.contains("events[1]") == true)
            let stats = try await store.stats()
            #expect(stats.events == 0)
            #expect(stats.dedupKeys == 0)
            // Nothing of that request was kept: the good events alone are new.
            let good = LINEBody.body(ids: "01GGOOD1", "01GGOOD2")
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(good), body: HTTP.buffer(good)),
                               accepted: 2, duplicates: 0)
        }
    }

    /// A signed LINE body padded with trailing whitespace to exactly `size` bytes.
    static func padded(_ size: Int) -> String {
        let body = LINEBody.body(ids: "01GSIZE\(size)")
        return body + String(repeating: " ", count: size - body.utf8.count)
    }

    @Test func bodyOverMaxBodyWithContentLength() async throws {
        try await IngestServer.test { client, store in
            let exact = Self.padded(1024)
            try HTTP.expectAck(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(exact), body: HTTP.buffer(exact)),
                               accepted: 1, duplicates: 0)
            let over = Self.padded(1025)
            let response = try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(over), body: HTTP.buffer(over))
            try HTTP.expectError(response, .contentTooLarge, "payload_too_large")
            let big = Self.padded(64 * 1024)
            try HTTP.expectError(try await client.execute(uri: "/webhooks/line", method: .post, headers: HTTP.lineHeaders(big), body: HTTP.buffer(big)),
                                 .contentTooLarge, "payload_too_large")
            #expect(try await store.stats().events == 1)
        }
    }

    /// Sends `body` with chunked transfer encoding (no Content-Length), in pieces of `chunk` bytes.
    static func postChunked(port: Int, path: String, body: String, chunk: Int) async throws -> (status: Int, json: JSONValue, contentType: String?) {
        var request = HTTPClientRequest(url: "http://localhost:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "X-Line-Signature", value: LINEProvider.signature(body: Array(body.utf8), channelSecret: TestConfig.lineSecretA))
        let bytes = Array(body.utf8)
        let pieces = stride(from: 0, to: bytes.count, by: chunk).map { ByteBuffer(bytes: bytes[$0..<min($0 + chunk, bytes.count)]) }
        let stream = AsyncStream<ByteBuffer> { continuation in
            for piece in pieces { continuation.yield(piece) }
            continuation.finish()
        }
        request.body = .stream(stream, length: .unknown)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 1 << 16)
        return (Int(response.status.code), try JSONParser.parse(Array(answer.readableBytesView)), response.headers.first(name: "content-type"))
    }

    @Test func chunkedBodyOverMaxBody() async throws {
        try await IngestServer.test { client, store in
            let port = try #require(client.port)
            let small = try await Self.postChunked(port: port, path: "/webhooks/line", body: LINEBody.body(ids: "01GCHUNK"), chunk: 50)
            #expect(small.status == 200)
            #expect(small.json == .object(["accepted": .integer(1), "duplicates": .integer(0)]))
            let over = try await Self.postChunked(port: port, path: "/webhooks/line", body: Self.padded(3000), chunk: 400)
            #expect(over.status == 413)
            #expect(over.contentType == "application/json")
            #expect(over.json["error"] == .string("payload_too_large"))
            #expect(try await store.stats().events == 1)
        }
    }

    @Test func unknownSource() async throws {
        try await IngestServer.test { client, store in
            let body = LINEBody.body(ids: "01GLOST")
            let response = try await client.execute(uri: "/webhooks/nope", method: .post, headers: HTTP.lineHeaders(body), body: HTTP.buffer(body))
            try HTTP.expectError(response, .notFound, "unknown_source")
            #expect(try HTTP.json(response)["message"]?.stringValue?.contains("nope") == true)
            #expect(try await store.stats().events == 0)
        }
    }

    @Test(arguments: [HTTPRequest.Method.get, .put, .delete, .patch])
    func methodOtherThanPost(method: HTTPRequest.Method) async throws {
        try await IngestServer.test { client, store in
            let body = LINEBody.body(ids: "01GVERB")
            let response = try await client.execute(uri: "/webhooks/line", method: method, headers: HTTP.lineHeaders(body),
                                                    body: method == .get ? nil : HTTP.buffer(body))
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == "POST")
            #expect(try await store.stats().events == 0)
        }
    }

    @Test func allowFromListIsEnforced() async throws {
        let store = try await TestStore.make()
        do {
            try await IngestServer.onLoopbackIPv4(store) { port in
                func post(_ source: String, _ id: String) async throws -> (Int, JSONValue) {
                    let body = LINEBody.body(ids: id)
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/webhooks/\(source)")
                    request.method = .POST
                    request.headers.add(name: "X-Line-Signature", value: LINEProvider.signature(body: Array(body.utf8), channelSecret: TestConfig.lineSecretA))
                    request.body = .bytes(ByteBuffer(string: body))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                    let answer = try await response.body.collect(upTo: 1 << 16)
                    return (Int(response.status.code), try JSONParser.parse(Array(answer.readableBytesView)))
                }
                let allowed = try await post("line-local", "01GLOCAL")
                #expect(allowed.0 == 200)
                #expect(allowed.1 == .object(["accepted": .integer(1), "duplicates": .integer(0)]))
                let refused = try await post("line-remote", "01GREMOTE")
                #expect(refused.0 == 403)
                #expect(refused.1["error"] == .string("forbidden"))
            }
            #expect(try await store.stats().events == 1)
        } catch {
            await store.finish()
            throw error
        }
        await store.finish()
    }
}
