import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelayCore
import RelayIngest
import RelayStore
import Tracing

/// `POST /webhooks/<source-id>` over HTTP: reads the body within the limits, hands it to ``Intake`` (verify, parse,
/// dedup + store) and only then answers. What is HTTP stays here; the use case is the intake's.
public struct IngestController: Sendable {
    let intake: Intake
    let metrics: IngestMetrics
    /// Set when tracing is on: each request is a SERVER span (see ``IngestController+Tracing``).
    let tracer: (any Tracer)?

    public init(intake: Intake, metrics: IngestMetrics = IngestMetrics(), tracer: (any Tracer)? = nil) {
        self.intake = intake
        self.metrics = metrics
        self.tracer = tracer
    }

    public func addRoutes(to router: Router<RelayRequestContext>) {
        if let tracer {
            router.post("/webhooks/{source}") { request, context in try await self.traced(request, context: context, tracer: tracer) }
        } else {
            router.post("/webhooks/{source}") { request, context in try await self.receive(request, context: context) }
        }
    }

    func receive(_ request: Request, context: RelayRequestContext, span: (any Span)? = nil) async throws -> Response {
        let started = ContinuousClock.now
        let sourceID = context.parameters.get("source") ?? ""
        let loggedID = SourceID.loggable(sourceID)
        // Unknown ids share one label: a scanner must not be able to create metric series at will.
        let config = intake.snapshot  // one snapshot per request, even if a reload lands meanwhile
        let label = config.source(sourceID) == nil ? "_unknown" : sourceID
        let result: Result<Response, APIError>
        do {
            result = .success(try await handle(request, sourceID: sourceID, config: config, context: context, span: span))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let response):
            metrics.request(source: label, status: 200, duration: ContinuousClock.now - started)
            return response
        case .failure(let error):
            metrics.request(source: label, status: Int(error.status.code), duration: ContinuousClock.now - started)
            if error.status.code >= 500 {
                var metadata: Logger.Metadata = ["source.id": .string(loggedID), "error": .string(error.message)]
                if let cause = error.cause { metadata["error.cause"] = .string(cause) }
                context.logger.error("ingest unavailable", metadata: metadata)
            } else {
                context.logger.notice("ingest refused", metadata: [
                    "source.id": .string(loggedID), "status": .stringConvertible(error.status.code), "error": .string(error.code),
                ])
            }
            throw error
        }
    }

    private func handle(
        _ request: Request, sourceID: String, config: RelayConfig, context: RelayRequestContext, span: (any Span)?
    ) async throws(APIError) -> Response {
        do {
            let source = try intake.source(sourceID, peer: context.remoteAddress?.ipAddress, in: config)
            let header = { (name: String) in HTTPField.Name(name).flatMap { request.headers[values: $0].first } }
            try intake.screen(source, header: header)
            let body = try await readBody(request, limit: config.maxBody)
            let receipt = try await intake.receive(body, for: source, in: config, header: header)
            metrics.events(source: sourceID, accepted: receipt.accepted, duplicates: receipt.duplicates, redeliveries: receipt.redeliveries,
                           advanced: receipt.advanced, stale: receipt.stale)
            if let span { Self.record(receipt, on: span) }
            return Self.ack(accepted: receipt.accepted, duplicates: receipt.duplicates)
        } catch let refusal as Intake.Refusal {
            throw APIError(refusal, sourceID: sourceID)
        } catch let error as APIError {
            throw error
        } catch {
            throw .unavailable("the request could not be handled; retry later", cause: "\(error)")
        }
    }

    /// Reads the whole body, refusing (413) as soon as it passes `limit` rather than buffering it, and (503) when the
    /// bodies held by every request would pass `limits.max_buffered` (``BodyAdmission`` counts the bytes, from the
    /// parser until the response is written, and ends a body that does not fit).
    private func readBody(_ request: Request, limit: Int) async throws(APIError) -> [UInt8] {
        let announced = request.headers[.contentLength].flatMap { Int($0) }
        if let announced, announced > limit { throw .tooLarge(limit) }
        var body: [UInt8] = []
        if let announced { body.reserveCapacity(min(announced, 64 << 10)) }  // a promise is not memory to hold yet
        do {
            for try await chunk in request.body {
                let size = chunk.readableBytes
                guard size <= limit - body.count else { throw APIError.tooLarge(limit) }
                // Copied out at once: a part is a slice of the connection's read buffer, which it would keep alive.
                body.append(contentsOf: chunk.readableBytesView)
            }
            return body
        } catch {
            switch error {
            case let error as APIError: throw error
            case is BodyBudget.Exhausted: throw .busy()
            case let error as HTTPError where error.status == .contentTooLarge: throw .tooLarge(limit)
            // The parser's own text names its internals; the sender needs to know only that the framing was wrong.
            default: throw .invalidPayload("the request body could not be read (malformed HTTP framing or a closed connection)")
            }
        }
    }

    static func ack(accepted: Int, duplicates: Int) -> Response {
        var body = JSONObject()
        body.append("accepted", .integer(accepted))
        body.append("duplicates", .integer(duplicates))
        return JSONResponse.make(.object(body))
    }
}
