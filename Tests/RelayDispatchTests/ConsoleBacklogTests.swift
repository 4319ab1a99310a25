@testable import RelayDispatch
import RelayCore
import RelayStore
import RelayTestSupport
import Testing

extension DeliveryEngine {
    /// The overview's backlog chart (SPEC section 17) on an ordered destination (SPEC section 14): jobs held behind
    /// their subject's head wait for an attempt as pending ones do, so the housekeeping sample counts them.
    @Suite("Console backlog")
    struct ConsoleBacklogTests {
        static let token = "backlog-token"

        @Test func heldJobsCountInTheBacklogSample() async throws {
            let yaml = """
                retry: [1h]
                sources:
                  eightxeight:
                    provider: 8x8
                    auth:
                      bearer: \(Self.token)
                destinations:
                  crm:
                    url: http://127.0.0.1:9/refused
                    ordering: subject
                    breaker: off
                routes:
                  - to: [crm]

                """
            try await Engine.with(yaml: yaml) { engine in
                let url = "http://127.0.0.1:\(engine.ingestPort)/webhooks/eightxeight"
                for state in ["queued", "sent", "delivered", "read"] {
                    let reply = try await post(url, body: Array(EightByEightBodies.status(umid: "m-backlog", state: state).utf8),
                                               headers: [("Authorization", "Bearer \(Self.token)")])
                    #expect(reply.status == 200)
                }
                // The head's attempt fails (nothing listens on port 9) and waits an hour; the three after it are held.
                let settled = await eventually(timeout: .seconds(10), poll: .milliseconds(20)) {
                    let crm = try await engine.store.stats(nowMilliseconds: Timestamp.nowMilliseconds()).destinations.first { $0.destination == "crm" }
                    return crm?.held == 3 && crm?.pending == 4 && crm?.inFlight == 0
                }
                #expect(settled)
                await engine.dispatcher.publishStats()
                let minute = MinuteCount.minute(of: Timestamp.nowMilliseconds())
                let sample = try await engine.store.minuteCounts(sinceMinute: minute - 1)
                    .filter { $0.subject == "destination:crm" && $0.measure == MinuteCount.sampled }
                #expect(sample.last?.value == 4, "\(sample)")
            }
        }
    }
}
