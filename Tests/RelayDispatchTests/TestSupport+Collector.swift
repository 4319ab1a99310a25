import Foundation
import HTTPTypes

/// One span as an OTLP/HTTP JSON export carries it (only what the tests read).
struct CollectedSpan: Sendable {
    var traceID: String
    var spanID: String
    var parentSpanID: String
    var name: String
    /// OTLP's `SpanKind`: 2 server, 3 client, 1 internal.
    var kind: Int
    /// 2 is an error.
    var statusCode: Int
    var attributes: [String: String]
    /// The trace and span ids of its links.
    var links: [(traceID: String, spanID: String)]
    /// The exporting process's resource attributes (`service.instance.id`, ...).
    var resource: [String: String]

    static let server = 2
    static let client = 3
    static let error = 2
}

/// An OpenTelemetry collector for a test: a real HTTP server on 127.0.0.1 that accepts OTLP/HTTP JSON exports
/// (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) and keeps the spans.
struct SpanCollector {
    let receiver: Receiver

    static func start(port: Int = 0) async throws -> SpanCollector {
        SpanCollector(receiver: try await Receiver.start(port: port) { _ in
            Reply(status: .ok, headers: [.contentType: "application/json"], body: Array("{}".utf8))
        })
    }

    /// The variables that make a relay export here, quickly (100 ms batches), every span sampled.
    func environment(instance: String = "a") -> [String: String] {
        [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_SERVICE_NAME": "relay",
            "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=\(instance)",
            "OTEL_TRACES_SAMPLER": "always_on",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        ]
    }

    /// Export requests received, on any path.
    var requests: Int { receiver.count }

    var spans: [CollectedSpan] {
        receiver.hits.filter { $0.path == "/v1/traces" }.flatMap { Self.parse($0.body) }
    }

    func stop() async { await receiver.stop() }

    /// Runs `body` with a collector, stopped afterwards. `preferring` a port: on it when it is free, else on any.
    static func with<T>(preferring port: Int? = nil, _ body: (SpanCollector) async throws -> T) async throws -> T {
        let collector: SpanCollector
        if let port, let onPort = try? await start(port: port) { collector = onPort } else { collector = try await start() }
        do {
            let result = try await body(collector)
            await collector.stop()
            return result
        } catch {
            await collector.stop()
            throw error
        }
    }

    static func parse(_ body: [UInt8]) -> [CollectedSpan] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return [] }
        var spans: [CollectedSpan] = []
        for resourceSpans in root["resourceSpans"] as? [[String: Any]] ?? [] {
            let resource = attributes((resourceSpans["resource"] as? [String: Any])?["attributes"])
            for scope in resourceSpans["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    let links = (span["links"] as? [[String: Any]] ?? []).map { (id($0["traceId"]), id($0["spanId"])) }
                    spans.append(CollectedSpan(
                        traceID: id(span["traceId"]), spanID: id(span["spanId"]), parentSpanID: id(span["parentSpanId"]),
                        name: span["name"] as? String ?? "", kind: int(span["kind"]),
                        statusCode: int((span["status"] as? [String: Any])?["code"]), attributes: attributes(span["attributes"]),
                        links: links, resource: resource))
                }
            }
        }
        return spans
    }

    /// OTLP JSON writes ids in hex; protobuf's JSON mapping would write base64: either becomes lowercase hex.
    static func id(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }

    static func int(_ value: Any?) -> Int {
        if let number = value as? Int { return number }
        if let text = value as? String { return Int(text) ?? -1 }
        return 0
    }

    /// Attribute values as text, whatever their type (`intValue` comes as a string in OTLP JSON).
    static func attributes(_ value: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for attribute in value as? [[String: Any]] ?? [] {
            guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any], let first = value.values.first else { continue }
            result[key] = "\(first)"
        }
        return result
    }
}

/// A W3C `traceparent`'s trace id and parent (span) id.
func traceparentIDs(_ header: String?) -> (traceID: String, spanID: String)? {
    guard let parts = header?.split(separator: "-"), parts.count == 4 else { return nil }
    return (String(parts[1]), String(parts[2]))
}
