import RelayCore
import RelayStore
import Tracing

/// The ingest use case, apart from any transport: find the source, check the peer, verify the credential over the
/// exact bytes, split and normalize the body, route each event, and store them with their jobs in one commit.
///
/// The HTTP controller calls it today; another front end (a second HTTP stack, a queue consumer) would call the same
/// code and get the same refusals.
public struct Intake: Sendable {
    let config: LiveConfig
    public let store: any Store
    /// Called after a commit that created delivery jobs, so the dispatcher starts at once.
    let onJobsCreated: @Sendable () -> Void
    /// Set when tracing is on (SPEC section 15): verify, parse and the store commit become child spans of the current
    /// one, and its context is stored with the events. Nil: no span, nothing serialized.
    let tracer: (any Tracer)?

    public init(config: LiveConfig, store: any Store, tracer: (any Tracer)? = nil, onJobsCreated: @escaping @Sendable () -> Void = {}) {
        self.config = config
        self.store = store
        self.tracer = tracer
        self.onJobsCreated = onJobsCreated
    }

    /// What a stored request came to.
    public struct Receipt: Sendable, Equatable {
        public var accepted: Int
        public var duplicates: Int
        public var redeliveries: Int
        /// New status events that advanced their message, and those that did not (SPEC section 10).
        public var advanced: Int = 0
        public var stale: Int = 0
    }

    /// Why a request was refused; each maps to one answer of SPEC section 4.
    public enum Refusal: Error, Sendable {
        case unknownSource
        case forbidden
        /// The credential header is missing (`present` false) or does not verify.
        case invalidCredential(header: String, present: Bool)
        case invalidPayload(String)
        case unavailable(StoreError)
    }

    /// The configuration every step of one request uses, even if a reload lands meanwhile.
    public var snapshot: RelayConfig { config.current }

    /// The source a request to `sourceID` from `peer` is for: checked before its body is read.
    public func source(_ sourceID: String, peer: String?, in config: RelayConfig) throws(Refusal) -> SourceConfig {
        guard let source = config.source(sourceID) else { throw .unknownSource }
        if !source.allowFrom.isEmpty {
            let address = peer ?? ""
            guard source.allowFrom.contains(where: { $0.contains(address) }) else { throw .forbidden }
        }
        return source
    }

    /// Refuses a request whose credential could not verify any body (missing, malformed, or a wrong static header),
    /// before its body is read.
    public func screen(_ source: SourceConfig, header: (String) -> String?) throws(Refusal) {
        let name = source.provider.credentialHeader
        let credential = header(name)
        guard source.settings.mayVerify(credential: credential) else {
            throw .invalidCredential(header: name, present: credential != nil)
        }
    }

    /// Verifies, normalizes, routes and stores one request's body; the request's header values come from `header`.
    public func receive(
        _ body: [UInt8], for source: SourceConfig, in config: RelayConfig, header: (String) -> String?
    ) async throws(Refusal) -> Receipt {
        let provider = source.provider
        let credential = header(provider.credentialHeader)
        let verified = await step("relay.verify") { span in
            let verified = provider.verify(credential: credential, body: body, source: source)
            if !verified { span?.setStatus(SpanStatus(code: .error, message: "the credential does not verify")) }
            return verified
        }
        guard verified else {
            throw .invalidCredential(header: provider.credentialHeader, present: credential != nil)
        }
        let now = Timestamp.nowMilliseconds()
        let parsed = await step("relay.parse") { span in
            let parsed = Result { () throws(PayloadError) in try provider.events(from: body, sourceID: source.id, receivedAtMilliseconds: now) }
            switch parsed {
            case .success(let events): span?.attributes["relay.event.count"] = events.count
            case .failure(let error): span?.setStatus(SpanStatus(code: .error, message: error.message))
            }
            return parsed
        }
        let events: [IncomingEvent]
        switch parsed {
        case .success(let list): events = list
        case .failure(let error): throw .invalidPayload(error.message)
        }
        if events.isEmpty { return Receipt(accepted: 0, duplicates: 0, redeliveries: 0) }

        let keepsLedger = source.keepsLedger
        let items = events.map { event in
            var event = event
            if !keepsLedger { event.status = nil }
            return Self.routed(event, sourceID: source.id, config: config)
        }
        var request = Self.request(items, source: source, config: config, now: now)
        request.traceContext = storedTraceContext()
        let stored = await step("relay.store.commit") { span in
            do throws(StoreError) {
                return Result<[IngestOutcome], StoreError>.success(try await store.ingestEvents(request))
            } catch {
                span?.setStatus(SpanStatus(code: .error, message: error.context))
                return .failure(error)
            }
        }
        let outcome: [IngestOutcome]
        do {
            outcome = try stored.get()
        } catch where error.kind == .rejected {
            // Alone in its commit (the writer isolates it), the database still refused a value of this request.
            throw .invalidPayload("a value of this request cannot be stored: \(error.cause ?? error.context)")
        } catch {
            throw .unavailable(error)
        }
        let accepted = outcome.count(where: \.isNew)
        let redeliveries = zip(events, outcome).count { $0.0.redelivery }
        if zip(items, outcome).contains(where: { $1.isNew && !$0.jobDestinations($1.progress).isEmpty }) { onJobsCreated() }
        let advanced = outcome.count { $0.progress?.advanced == true }
        return Receipt(accepted: accepted, duplicates: outcome.count - accepted, redeliveries: redeliveries,
                       advanced: advanced, stale: outcome.count { $0.progress?.advanced == false })
    }

    /// An event with the destinations its routes name, now and if it advances its message.
    static func routed(_ event: IncomingEvent, sourceID: String, config: RelayConfig) -> IngestRequest.Event {
        var event = event
        let decision = config.routingTable.route(event, sourceID: sourceID)
        event.fields = nil  // read by the filters; not needed further (the request holds the serialized body)
        return IngestRequest.Event(event: event, destinations: decision.always, advancingDestinations: decision.ifAdvancing,
                                   keepPassthrough: decision.keepPassthrough)
    }

    /// One source's events to store now, with the windows and the receipt wait the configuration gives them.
    static func request(_ items: [IngestRequest.Event], source: SourceConfig, config: RelayConfig, now: Int64) -> IngestRequest {
        IngestRequest(
            sourceID: source.id, provider: source.provider.kind, receivedAtMilliseconds: now,
            dedupExpiresAtMilliseconds: now + config.dedupWindow.milliseconds,
            messageExpiresAtMilliseconds: now + config.messageWindow.milliseconds,
            expectReceiptMilliseconds: source.expectReceipt?.milliseconds, events: items, orderedDestinations: config.orderedDestinations)
    }
}
