/// The W3C trace context (`traceparent`, `tracestate`) of the request that stored an event, kept with the event so
/// that every delivery attempt, however late and on whichever instance, joins that request's trace (SPEC section 15).
///
/// Plain text here: the store neither parses nor checks it (the tracer that wrote it reads it back), and with tracing
/// off there is none, so nothing is serialized and the columns stay NULL.
public struct StoredTraceContext: Sendable, Hashable {
    /// `00-<trace id>-<span id>-<flags>`.
    public var traceparent: String
    /// Vendor entries, if the trace carried any.
    public var tracestate: String?

    public init(traceparent: String, tracestate: String? = nil) {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    /// The context from its two columns; nil when no trace was stored (tracing off, or an event older than the columns).
    public init?(traceparent: String?, tracestate: String?) {
        guard let traceparent, !traceparent.isEmpty else { return nil }
        self.init(traceparent: traceparent, tracestate: tracestate.flatMap { $0.isEmpty ? nil : $0 })
    }
}
