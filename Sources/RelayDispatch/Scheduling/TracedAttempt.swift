import Foundation
import RelayCore
import RelayStore
import Tracing

/// A CLIENT span per delivery attempt (SPEC section 15), in the trace of the request that stored the event: its parent
/// is the context stored with the event, so a retry hours later, or on another instance, stays in that trace. The
/// backend gets the span's `traceparent` (and `tracestate`) on the request.
///
/// A batch is one request for several events, often from several requests (traces): its span is a child of the first
/// (oldest) job's context and links to every other distinct one, so each event's trace leads to the attempt that
/// carried it. Attributes follow OpenTelemetry's HTTP client conventions, with relay's own under `relay.`; the URL is
/// reduced to its host and port (a destination URL may carry a token in its path or query).
struct TracedAttempt: AttemptHook {
    let tracer: any Tracer

    func attempt(
        _ jobs: [DeliveryJob], to destination: DestinationConfig, request: OutboundRequest,
        send: (OutboundRequest) async -> Forwarder.Result
    ) async -> Forwarder.Result {
        let contexts = jobs.map { job in job.traceContext.map(context(of:)) ?? .topLevel }
        let span = tracer.startAnySpan("POST", context: contexts.first ?? .topLevel, ofKind: .client)
        defer { span.end() }
        var linked = Set<String>()
        if let first = jobs.first?.traceContext?.traceparent { linked.insert(first) }
        for (job, context) in zip(jobs, contexts).dropFirst() {
            guard let traceparent = job.traceContext?.traceparent, linked.insert(traceparent).inserted else { continue }
            span.addLink(SpanLink(context: context, attributes: ["relay.event.id": .string(job.eventID)]))
        }
        let attempt = (jobs.first?.attempts ?? 0) + 1
        span.updateAttributes { attributes in
            attributes["http.request.method"] = "POST"
            attributes["relay.destination.id"] = destination.id
            attributes["relay.attempt"] = attempt
            if attempt > 1 { attributes["http.request.resend_count"] = attempt - 1 }
            if jobs.count == 1, let job = jobs.first {
                attributes["relay.event.id"] = PrintableText.cut(job.eventID, maxBytes: ProviderValue.maxBytes)
                attributes["relay.source.id"] = job.sourceID
            } else {
                attributes["relay.batch.size"] = jobs.count
            }
            if let url = URLComponents(string: destination.url) {
                attributes["server.address"] = url.host
                attributes["server.port"] = url.port ?? (url.scheme == "https" ? 443 : 80)
                attributes["url.scheme"] = url.scheme
            }
        }
        var request = request
        var headers = TraceHeaders()
        tracer.inject(span.context, into: &headers, using: TraceHeaders.Writer())
        // The span's context replaces any the destination's static headers set.
        request.headers.removeAll { $0.name.lowercased() == "traceparent" || $0.name.lowercased() == "tracestate" }
        request.headers += headers.fields

        let result = await ServiceContext.$current.withValue(span.context) { await send(request) }

        if let status = result.status { span.attributes["http.response.status_code"] = status }
        if !result.succeeded {
            span.attributes["error.type"] = result.status.map(String.init) ?? result.error.map(Self.errorType) ?? "_OTHER"
            span.setStatus(SpanStatus(code: .error, message: result.error?.description ?? result.status.map { "HTTP \($0)" }))
        }
        return result
    }

    /// The stored W3C text as a parent context (an unreadable one gives none: the attempt starts a trace of its own).
    private func context(of stored: StoredTraceContext) -> ServiceContext {
        var context = ServiceContext.topLevel
        tracer.extract(stored, into: &context, using: StoredTraceReader())
        return context
    }

    /// A low-cardinality name for a failure without an HTTP status (`error.type`).
    static func errorType(_ error: DeliveryError) -> String {
        switch error {
        case .connectionRefused: "connection_refused"
        case .connectionReset: "connection_reset"
        case .connectionClosed: "connection_closed"
        case .dnsFailure: "dns_failure"
        case .tlsFailure: "tls_failure"
        case .connectTimeout: "connect_timeout"
        case .timeout: "timeout"
        case .httpStatus(let code): String(code)
        case .responseTooLarge: "response_too_large"
        case .malformedResponse: "malformed_response"
        case .requestNotBuilt: "request_not_built"
        case .cancelled: "cancelled"
        case .other: "_OTHER"
        }
    }
}

/// Reads the stored `traceparent` and `tracestate` for a propagator.
struct StoredTraceReader: Extractor {
    func extract(key: String, from carrier: StoredTraceContext) -> String? {
        switch key.lowercased() {
        case "traceparent": carrier.traceparent
        case "tracestate": carrier.tracestate
        default: nil
        }
    }
}

/// The W3C headers a propagator writes for the attempt's span.
struct TraceHeaders: Sendable {
    var fields: [(name: String, value: String)] = []

    struct Writer: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout TraceHeaders) {
            carrier.fields.append((key, value))
        }
    }
}
