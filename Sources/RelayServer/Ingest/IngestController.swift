import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RelayCore
import RelayStore

/// `POST /webhooks/<source-id>`: verify, parse, dedup + store, and only then answer.
public struct IngestController: Sendable {
    let config: LiveConfig
    let store: any Store
    let metrics: IngestMetrics
    /// Called after a commit that created delivery jobs, so the dispatcher starts at once.
    let onJobsCreated: @Sendable () -> Void

    public init(config: LiveConfig, store: any Store, metrics: IngestMetrics = IngestMetrics(), onJobsCreated: @escaping @Sendable () -> Void = {}) {
        self.config = config
        self.store = store
        self.metrics = metrics
        self.onJobsCreated = onJobsCreated
    }

    public func addRoutes(to router: Router<RelayRequestContext>) {
        router.post("/webhooks/{source}") { request, context in try await self.receive(request, context: context) }
        for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head] {
            router.on("/webhooks/{source}", method: method) { _, _ -> Response in
                Response(status: .methodNotAllowed, headers: [.allow: "POST"])
            }
        }
    }

    func receive(_ request: Request, context: RelayRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let sourceID = context.parameters.get("source") ?? ""
        // Unknown ids share one label: a scanner must not be able to create metric series at will.
        let config = self.config.current  // one snapshot per request, even if a reload lands meanwhile
        let label = config.source(sourceID) == nil ? "_unknown" : sourceID
        let result: Result<Response, APIError>
        do {
            result = .success(try await handle(request, sourceID: sourceID, config: config, context: context))
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
                var metadata: Logger.Metadata = ["source.id": .string(sourceID), "error": .string(error.message)]
                if let cause = error.cause { metadata["error.cause"] = .string(cause) }
                context.logger.error("ingest unavailable", metadata: metadata)
            } else {
                context.logger.notice("ingest refused", metadata: [
                    "source.id": .string(sourceID), "status": .stringConvertible(error.status.code), "error": .string(error.code),
                ])
            }
            throw error
        }
    }

    private func handle(_ request: Request, sourceID: String, config: RelayConfig, context: RelayRequestContext) async throws(APIError) -> Response {
        guard let source = config.source(sourceID) else { throw .unknownSource(sourceID) }
        if !source.allowFrom.isEmpty {
            let peer = context.remoteAddress?.ipAddress ?? ""
            guard source.allowFrom.contains(where: { $0.contains(peer) }) else { throw .forbidden() }
        }
        let body = try await readBody(request, limit: config.maxBody)
        let provider = ProviderRegistry.provider(for: source.provider)
        let credential = request.headers[values: HTTPField.Name(provider.credentialHeader)!].first
        guard provider.verify(credential: credential, body: body, source: source) else {
            throw .invalidSignature(credential == nil ? "the \(provider.credentialHeader) header is missing" : "the \(provider.credentialHeader) header does not verify")
        }
        let now = Timestamp.nowMilliseconds()
        let events: [IncomingEvent]
        do {
            events = try provider.events(from: body, sourceID: sourceID, receivedAtMilliseconds: now)
        } catch {
            throw .invalidPayload(error.message)
        }
        if events.isEmpty { return Self.ack(accepted: 0, duplicates: 0) }

        let items = events.map { event in
            let destinations = config.destinations(forSource: sourceID, type: event.type)
            let passthrough = destinations.contains { config.destination($0)?.format == .passthrough }
            return IngestRequest.Event(event: event, destinations: destinations, keepPassthrough: passthrough)
        }
        let outcome: [Bool]
        do {
            outcome = try await store.ingest(IngestRequest(
                sourceID: sourceID, provider: source.provider, receivedAtMilliseconds: now,
                dedupExpiresAtMilliseconds: now + config.dedupWindow.milliseconds, events: items))
        } catch {
            throw .unavailable("the event store cannot commit now; retry later", cause: "\(error.kind.rawValue): \(error.message)")
        }
        let accepted = outcome.count { $0 }
        let redeliveries = zip(events, outcome).count { $0.0.redelivery }
        metrics.events(source: sourceID, accepted: accepted, duplicates: outcome.count - accepted, redeliveries: redeliveries)
        if zip(items, outcome).contains(where: { $1 && !$0.destinations.isEmpty }) { onJobsCreated() }
        return Self.ack(accepted: accepted, duplicates: outcome.count - accepted)
    }

    /// Reads the whole body, refusing (413) as soon as it passes `limit` rather than buffering it.
    private func readBody(_ request: Request, limit: Int) async throws(APIError) -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw .tooLarge(limit) }
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            // What `collect(upTo:)` throws when a body without Content-Length (chunked) passes the limit.
            throw .tooLarge(limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw .tooLarge(limit)
        } catch {
            throw .invalidPayload("the body could not be read: \(error)")
        }
    }

    static func ack(accepted: Int, duplicates: Int) -> Response {
        var body = JSONObject()
        body.append("accepted", .integer(accepted))
        body.append("duplicates", .integer(duplicates))
        return JSONResponse.make(.object(body))
    }
}
