import RelayCore
import RelayStore

/// The HTTP request one attempt sends: body and headers in the destination's format, signed at send time.
public struct OutboundRequest: Sendable, Equatable {
    public var body: [UInt8]
    public var headers: [(name: String, value: String)]

    public static func == (a: OutboundRequest, b: OutboundRequest) -> Bool {
        a.body == b.body && a.headers.elementsEqual(b.headers) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Builds the request for `job` to `destination` at `nowSeconds`.
    public static func make(for job: DeliveryJob, to destination: DestinationConfig, nowSeconds: Int64) throws(DeliveryError) -> OutboundRequest {
        var headers: [(name: String, value: String)] = []
        let body: [UInt8]
        switch destination.format {
        case .canonical:
            guard let redacted = Redaction.apply(destination.redact, to: job.canonical) else {
                throw DeliveryError("the stored event cannot be read back to redact it")
            }
            body = redacted
            headers = standardWebhooksHeaders(CanonicalEvent.contentType, id: job.eventID, body: body, destination: destination, nowSeconds: nowSeconds)
        case .passthrough:
            guard let provider = ProviderRegistry.provider(for: job.provider) else {
                throw DeliveryError("no provider \"\(job.provider)\" to send its own format (stored by another relay version)")
            }
            if let stored = job.passthrough {
                body = stored
            } else {
                body = try rebuildPassthrough(job, provider: provider)
            }
            headers.append(("Content-Type", "application/json"))
            do {
                headers += try provider.passthroughHeaders(body: body, destination: destination)
            } catch {
                throw DeliveryError(error.description)
            }
        }
        headers.append(contentsOf: destination.headers)
        return OutboundRequest(body: body, headers: headers)
    }

    /// Builds one request for `jobs` to a destination with `batch` set: a CloudEvents batch (a JSON array of the
    /// canonical events, in order), Standard Webhooks headers over the whole body.
    public static func makeBatch(for jobs: [DeliveryJob], to destination: DestinationConfig, nowSeconds: Int64) throws(DeliveryError) -> OutboundRequest {
        var body: [UInt8] = []
        body.reserveCapacity(jobs.reduce(2) { $0 + $1.canonical.count + 1 })
        body.append(UInt8(ascii: "["))
        for (index, job) in jobs.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            guard let event = Redaction.apply(destination.redact, to: job.canonical) else {
                throw DeliveryError("the stored event \(job.eventID) cannot be read back to redact it")
            }
            body.append(contentsOf: event)
        }
        body.append(UInt8(ascii: "]"))
        var headers = standardWebhooksHeaders(
            CanonicalEvent.batchContentType, id: batchID(jobs.map(\.eventID)), body: body, destination: destination, nowSeconds: nowSeconds)
        headers.append(contentsOf: destination.headers)
        return OutboundRequest(body: body, headers: headers)
    }

    /// `Content-Type`, `webhook-id`, `webhook-timestamp` and, with a `secret`, `webhook-signature` over `body`.
    static func standardWebhooksHeaders(
        _ contentType: String, id: String, body: [UInt8], destination: DestinationConfig, nowSeconds: Int64
    ) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", contentType), ("webhook-id", id), ("webhook-timestamp", String(nowSeconds)),
        ]
        if let key = destination.signer {
            headers.append(("webhook-signature", StandardWebhooks.signature(key: key, id: id, timestamp: nowSeconds, body: body)))
        }
        return headers
    }

    /// The `webhook-id` of a batch: the same events in the same order always get the same id (a retry of the whole
    /// batch is recognisable as one), a different set another. The receiver deduplicates by each event's `id`.
    static func batchID(_ eventIDs: [String]) -> String {
        "batch_" + ContentDigest.hex(eventIDs.flatMap { Array($0.utf8) + [0] })
    }

    /// The provider-format body from the canonical event, for a job whose passthrough body was not stored
    /// (its destination became `passthrough` by a reload after the event arrived).
    static func rebuildPassthrough(_ job: DeliveryJob, provider: any WebhookProvider) throws(DeliveryError) -> [UInt8] {
        guard let body = provider.passthroughBody(canonical: job.canonical) else {
            throw DeliveryError("the stored event cannot be read back")
        }
        return body
    }
}
