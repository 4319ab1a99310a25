import RelayCore
import RelayStore

/// Code that runs around each delivery attempt (one HTTP request, for one job or a batch), in the manner of a job
/// middleware: it sees the jobs, the destination and the request, may change the request (add headers) and must call
/// `send` once, returning what it returned. Tracing is one (a span per attempt, its context in the request's headers).
protocol AttemptHook: Sendable {
    func attempt(
        _ jobs: [DeliveryJob], to destination: DestinationConfig, request: OutboundRequest,
        send: (OutboundRequest) async -> Forwarder.Result
    ) async -> Forwarder.Result
}

/// No hook: the request goes as built.
struct PlainAttempt: AttemptHook {
    func attempt(
        _ jobs: [DeliveryJob], to destination: DestinationConfig, request: OutboundRequest,
        send: (OutboundRequest) async -> Forwarder.Result
    ) async -> Forwarder.Result {
        await send(request)
    }
}
