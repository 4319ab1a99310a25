import RelayCore
import RelayStore
import Testing

extension StoreContract {
    /// The trace context of the request that stored an event comes back with each of its jobs (SPEC section 15), on
    /// every claim, however late: a retry joins the request's trace on whichever instance runs it.
    @Suite("Store contract: trace context")
    struct StoreContractTraceTests {
        @Test(arguments: StoreKind.testable)
        func aClaimedJobCarriesItsRequestsTraceContext(kind: StoreKind) async throws {
            try await withStore(kind) { open in
                let store = open.store
                let traced = StoredTraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "vendor=x,other=y")
                var request = Sample.request("a", "b")
                request.traceContext = traced
                _ = try await store.ingest(request)
                var plain = Sample.request("c")
                plain.traceContext = StoredTraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
                _ = try await store.ingest(plain)
                _ = try await store.ingest(Sample.request("d"))  // tracing off: no context

                let first = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now, limit: 10, leaseMilliseconds: 1)
                let byEvent = Dictionary(uniqueKeysWithValues: first.map { ($0.eventID, $0.traceContext) })
                #expect(byEvent["a"] == traced && byEvent["b"] == traced)
                #expect(byEvent["c"] == StoredTraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: nil))
                #expect(byEvent["d"] == .some(nil))
                // The claim lapses: claimed again (another instance, later), the context is still there.
                let again = try await store.claimDue(destination: "crm", nowMilliseconds: Sample.now + 10_000, limit: 10, leaseMilliseconds: 1_000)
                #expect(again.count == 4)
                #expect(again.first { $0.eventID == "a" }?.traceContext == traced)
            }
        }
    }
}
