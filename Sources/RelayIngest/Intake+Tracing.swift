import RelayStore
import Tracing

/// Intake's spans (SPEC section 15): each step a child of the request's span; nothing at all when tracing is off.
extension Intake {
    /// Runs `body` in a span named `name`, a child of the current one, when tracing is on; else just runs it.
    func step<T>(_ name: String, isolation: isolated (any Actor)? = #isolation, _ body: ((any Span)?) async -> T) async -> T {
        guard let tracer else { return await body(nil) }
        let span = tracer.startAnySpan(name, context: ServiceContext.current ?? .topLevel, ofKind: .internal)
        defer { span.end() }
        return await ServiceContext.$current.withValue(span.context) { await body(span) }
    }

    /// The current span's context as W3C text, to store with the events: their delivery attempts join this trace.
    /// Nil with tracing off or outside any span.
    func storedTraceContext() -> StoredTraceContext? {
        guard let tracer, let context = ServiceContext.current else { return nil }
        var carrier = TraceHeaders()
        tracer.inject(context, into: &carrier, using: TraceHeaders.Writer())
        return carrier.traceparent.map { StoredTraceContext(traceparent: $0, tracestate: carrier.tracestate) }
    }
}

/// The two W3C headers a propagator writes, caught as text.
struct TraceHeaders: Sendable {
    var traceparent: String?
    var tracestate: String?

    struct Writer: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout TraceHeaders) {
            switch key.lowercased() {
            case "traceparent": carrier.traceparent = value
            case "tracestate": carrier.tracestate = value
            default: break  // another propagator's field (baggage): not kept with the event
            }
        }
    }
}
