import HTTPTypes
import Hummingbird
import RelayIngest
import Tracing

/// The SERVER span of a webhook request (SPEC section 15). Hummingbird's `TracingMiddleware` would make one too, but
/// the route's handler cannot reach that span to add the source and the event counts, so the controller makes its own.
extension IngestController {
    /// The span's name: the route, so every source's requests share one operation (the source is an attribute).
    static let spanName = "POST /webhooks/{source}"

    /// ``receive(_:context:span:)`` inside a SERVER span that continues the provider's W3C `traceparent`, if it sent one.
    func traced(_ request: Request, context: RelayRequestContext, tracer: any Tracer) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        if let fields = Self.traceFields(of: request.headers) { tracer.extract(fields, into: &parent, using: HTTPFieldsExtractor()) }
        let span = tracer.startAnySpan(Self.spanName, context: parent, ofKind: .server)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["http.request.method"] = "POST"
            attributes["http.route"] = "/webhooks/{source}"
            attributes["url.path"] = request.uri.path
            attributes["url.scheme"] = "http"
            attributes["relay.source.id"] = SourceID.loggable(context.parameters.get("source") ?? "")
            if let agent = request.headers[.userAgent] { attributes["user_agent.original"] = agent }
            if let peer = context.remoteAddress?.ipAddress { attributes["client.address"] = peer }
        }
        do {
            let response = try await ServiceContext.$current.withValue(span.context) {
                try await receive(request, context: context, span: span)
            }
            span.attributes["http.response.status_code"] = Int(response.status.code)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            span.attributes["http.response.status_code"] = Int(status)
            // OpenTelemetry's HTTP conventions: a refusal (4xx) is the client's error, not the server span's.
            if status >= 500 {
                span.attributes["error.type"] = String(status)
                span.setStatus(SpanStatus(code: .error, message: (error as? APIError)?.message))
            }
            throw error
        }
    }

    static let traceparent = HTTPField.Name("traceparent")!
    static let tracestate = HTTPField.Name("tracestate")!

    /// The provider's W3C trace headers alone, when its `traceparent` is well formed (else nil: a new trace). The
    /// propagator sees nothing else: swift-otel logs the whole carrier when it cannot extract a context, which with the
    /// request's own headers put its `Authorization` or signature in relay's log, once per request a provider chose.
    /// A `tracestate` over 512 bytes is dropped (W3C lets a vendor do so), so a provider cannot make every stored
    /// event and every attempt carry kilobytes.
    static func traceFields(of headers: HTTPFields) -> HTTPFields? {
        guard let value = headers[traceparent], isTraceparent(value) else { return nil }
        var fields = HTTPFields()
        fields[traceparent] = value
        if let state = headers[tracestate], state.utf8.count <= 512 { fields[tracestate] = state }
        return fields
    }

    /// `00-<32 hex>-<16 hex>-<2 hex>` (version 00, or a later one with these four fields), lower-case hex, ids not all
    /// zero, version not ff.
    static func isTraceparent(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-") else { return false }
        let hex = { (range: Range<Int>) in bytes[range].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } }
        let zero = { (range: Range<Int>) in bytes[range].allSatisfy { $0 == 0x30 } }
        return hex(0..<2) && hex(3..<35) && hex(36..<52) && hex(53..<55)
            && bytes[0..<2] != [0x66, 0x66] && !zero(3..<35) && !zero(36..<52)
    }

    /// The counts of a stored request.
    static func record(_ receipt: Intake.Receipt, on span: any Span) {
        span.updateAttributes { attributes in
            attributes["relay.event.count"] = receipt.accepted + receipt.duplicates
            attributes["relay.event.accepted"] = receipt.accepted
            attributes["relay.event.duplicates"] = receipt.duplicates
        }
    }
}

/// Reads W3C trace headers from a request.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from fields: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { fields[$0] }
    }
}
