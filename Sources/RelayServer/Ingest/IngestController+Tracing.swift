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
        tracer.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
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
