import Foundation
import RelayCore
import Synchronization
import Testing

extension DeliveryEngine {
    /// `batch: N` on a canonical destination: CloudEvents batches (a JSON array per request), formed only from jobs
    /// waiting while every slot is busy, signed over the whole body; each job keeps its own retries and dead letter.
    @Suite struct BatchDelivery {
        static let lineSecret = "line-test-channel-secret"
        static let signingSecret = "whsec_" + Data("relay-test-batch-signing-key".utf8).base64EncodedString()

        static func yaml(receiver: String, batch: Int, retry: String = "[100ms, 200ms]") -> String {
            lineToCRMYAML(secret: lineSecret, receiver: receiver, retry: retry, destinationExtra: """
                format: canonical
                    secret: \(signingSecret)
                    concurrency: 1
                    batch: \(batch)
                    breaker: off
                """)
        }

        /// The events of one batch request, after checking its headers and signature.
        static func events(of hit: Hit) throws -> [JSONValue] {
            #expect(hit.header("Content-Type") == "application/cloudevents-batch+json")
            let id = try #require(hit.header("webhook-id"))
            #expect(id.hasPrefix("batch_"))
            let timestamp = try #require(hit.header("webhook-timestamp"))
            let expected = try #require(StandardWebhooksCheck.expectedSignature(secret: signingSecret, id: id, timestamp: timestamp, body: hit.body))
            #expect(hit.header("webhook-signature") == expected, "the batch signature does not verify")
            return try #require(try JSONParser.parse(hit.body).arrayValue, "not a JSON array: \(hit.text)")
        }

        @Test func waitingEventsGoOutTogetherAsOneSignedBatch() async throws {
            // The first request is held until every later event is stored (not for a fixed time, which a loaded machine
            // outran: its 30 posts took longer than the hold and went out one by one), so they wait for the one slot
            // and form a batch.
            let held = Mutex(true)
            let release: @Sendable () -> Bool = { !held.withLock { $0 } }
            try await Receiver.with({ _ in held.withLock { $0 } ? Reply(delay: .seconds(10), releasedWhen: release) : .ok }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, batch: 50)) { engine in
                    let first = LINE.eventID()
                    #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: first)]), secret: Self.lineSecret).status == 200)
                    #expect(await eventually { receiver.count == 1 })
                    var sent = [first]
                    for _ in 0..<30 {
                        let id = LINE.eventID()
                        sent.append(id)
                        #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: id)]), secret: Self.lineSecret).status == 200)
                    }
                    #expect(receiver.count == 1, "the held request is still the only one")
                    held.withLock { $0 = false }
                    #expect(await eventually(timeout: .seconds(5)) { (try? await engine.stats("crm").delivered) == 31 })

                    let batches = try receiver.hits.map(Self.events(of:))
                    let received = batches.flatMap { $0.compactMap { $0["id"]?.stringValue } }
                    #expect(received.sorted() == sent.sorted(), "each event exactly once")
                    #expect(batches.first?.count == 1, "the first event went out alone, at once")
                    #expect(batches.count < 10, "31 events in \(batches.count) requests: \(batches.map(\.count))")
                    #expect(batches.allSatisfy { $0.count <= 50 })
                    for event in batches.joined() { #expect(event["specversion"]?.stringValue == "1.0") }
                    // Within a batch, events keep the order they were stored in.
                    #expect(received == sent, "order: \(received)")
                }
            }
        }

        @Test func aBatchNeverExceedsItsSize() async throws {
            try await Receiver.with { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, batch: 4)) { engine in
                    // One webhook of 10 events: claimed together, sent as batches of at most 4.
                    let ids = (0..<10).map { _ in LINE.eventID() }
                    #expect(try await engine.postLINE(LINE.body(ids.map { LINE.deliveryEvent(id: $0) }), secret: Self.lineSecret).status == 200)
                    #expect(await eventually { (try? await engine.stats("crm").delivered) == 10 })
                    let batches = try receiver.hits.map(Self.events(of:))
                    #expect(batches.map(\.count).allSatisfy { (1...4).contains($0) }, "sizes \(batches.map(\.count))")
                    #expect(batches.flatMap { $0.compactMap { $0["id"]?.stringValue } } == ids)
                }
            }
        }

        @Test func aFailedBatchRetriesEachJobThenLeavesOneDeadLetterPerEvent() async throws {
            try await Receiver.with({ _ in .status(.internalServerError, body: "down") }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, batch: 10)) { engine in
                    let ids = (0..<5).map { _ in LINE.eventID() }
                    #expect(try await engine.postLINE(LINE.body(ids.map { LINE.deliveryEvent(id: $0) }), secret: Self.lineSecret).status == 200)
                    #expect(await eventually(timeout: .seconds(5)) { (try? await engine.stats("crm").dead) == 5 })
                    // Three attempts (the first and two retries), all five events in each request.
                    #expect(receiver.count == 3, "requests: \(receiver.count)")
                    for hit in receiver.hits { #expect(try Self.events(of: hit).count == 5) }
                    // Same events in the same order: the same webhook-id on every retry.
                    #expect(Set(receiver.hits.compactMap { $0.header("webhook-id") }).count == 1)
                    let letters = try await engine.store.deadLetters(destination: "crm", limit: 10)
                    #expect(Set(letters.map(\.eventID)) == Set(ids))
                    #expect(letters.allSatisfy { $0.attempts == 3 && $0.lastStatus == 500 && $0.lastResponse == "down" })

                    receiver.respond { _ in .ok }
                    #expect(try await engine.store.replay(ids: nil, destination: "crm", nowMilliseconds: Timestamp.nowMilliseconds()) == 5)
                    engine.dispatcher.wake()
                    #expect(await eventually { (try? await engine.stats("crm").delivered) == 5 })
                    #expect(try Self.events(of: try #require(receiver.hits.last)).compactMap { $0["id"]?.stringValue } == ids)
                }
            }
        }
    }
}
