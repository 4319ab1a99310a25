import Foundation
import RelayCore
import RelayStore
import RelayTestSupport
import Synchronization
import Testing

extension DeliveryEngine {
    /// Traces of a real `relay serve` exported to a collector in the test (SPEC section 15): one trace from the
    /// provider's request to every delivery attempt, a retry hours later or on another instance included.
    @Suite struct Tracing {
        static let secret = "line-tracing-secret"
        /// A provider's own trace: relay's SERVER span must continue it.
        static let providerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        static let providerSpanID = "00f067aa0ba902b7"
        static var providerTraceparent: String { "00-\(providerTraceID)-\(providerSpanID)-01" }

        /// A receiver that answers 503 to the first request and 200 after.
        static func failingOnce() -> @Sendable (Hit) -> Reply { { hit in hit.index == 0 ? .status(.serviceUnavailable) : .ok } }

        static func send(_ url: String, traceparent: String? = providerTraceparent) async throws -> HTTPReply {
            let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
            var headers = [("X-Line-Signature", LINE.signature(body, secret: secret))]
            if let traceparent { headers.append(("traceparent", traceparent)) }
            return try await post(url, body: body, headers: headers)
        }

        @Test func oneTraceFromTheProvidersRequestToTheAttemptAndItsRetry() async throws {
            _ = try RelayProcesses.executable()
            try await SpanCollector.with { collector in
                try await Receiver.with(Self.failingOnce()) { backend in
                    try await RelayProcesses.with(lineToCRMYAML(secret: Self.secret, receiver: backend.url, retry: "[200ms]")) { relays in
                        _ = try await relays.start(environment: collector.environment())
                        let reply = try await Self.send(relays.webhookURL("line"))
                        #expect(reply.status == 200)
                        #expect(await eventually(timeout: .seconds(10)) { backend.count >= 2 }, "backend got \(backend.count)")
                        // The server span, its three steps and two attempts.
                        #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
                            collector.spans.filter { $0.kind == CollectedSpan.client }.count >= 2 && collector.spans.count >= 6
                        }, "collected \(collector.spans.map(\.name))\n\(relays.logTail())")
                        let spans = collector.spans

                        let server = try #require(spans.first { $0.kind == CollectedSpan.server }, "\(spans.map(\.name))")
                        #expect(server.name == "POST /webhooks/{source}")
                        #expect(server.traceID == Self.providerTraceID)
                        #expect(server.parentSpanID == Self.providerSpanID, "the provider's span is the SERVER span's parent")
                        #expect(server.attributes["relay.source.id"] == "line")
                        #expect(server.attributes["relay.event.count"] == "1")
                        #expect(server.attributes["relay.event.accepted"] == "1")
                        #expect(server.attributes["relay.event.duplicates"] == "0")
                        #expect(server.attributes["http.response.status_code"] == "200")
                        for step in ["relay.verify", "relay.parse", "relay.store.commit"] {
                            let child = spans.first { $0.name == step }
                            #expect(child?.parentSpanID == server.spanID && child?.traceID == server.traceID, "\(step): \(String(describing: child))")
                        }

                        let attempts = spans.filter { $0.kind == CollectedSpan.client }.sorted { $0.attributes["relay.attempt"] ?? "" < $1.attributes["relay.attempt"] ?? "" }
                        #expect(attempts.count == 2)
                        for (attempt, hit) in zip(attempts, backend.hits) {
                            let sent = try #require(traceparentIDs(hit.header("traceparent")), "attempt \(hit.index) had no traceparent")
                            #expect(attempt.traceID == server.traceID)
                            #expect(sent.traceID == server.traceID, "the backend's traceparent is in the request's trace")
                            #expect(sent.spanID == attempt.spanID, "the backend's parent is the attempt's span")
                            #expect(attempt.parentSpanID == server.spanID)
                            #expect(attempt.attributes["relay.destination.id"] == "crm")
                        }
                        let failed = try #require(attempts.first)
                        #expect(failed.attributes["relay.attempt"] == "1")
                        #expect(failed.attributes["http.response.status_code"] == "503")
                        #expect(failed.statusCode == CollectedSpan.error)
                        let retry = try #require(attempts.last)
                        #expect(retry.attributes["relay.attempt"] == "2")
                        #expect(retry.attributes["http.response.status_code"] == "200")
                        #expect(retry.statusCode != CollectedSpan.error)
                    }
                }
            }
        }

        /// A malformed `traceparent` (and a `tracestate` of kilobytes) starts a new trace, and nothing of the request's
        /// other headers reaches relay's log: swift-otel logs its whole carrier when extraction fails, which once put the
        /// provider's signature there.
        @Test func aMalformedTraceparentStartsANewTraceAndLogsNoHeader() async throws {
            _ = try RelayProcesses.executable()
            try await SpanCollector.with { collector in
                try await Receiver.with { backend in
                    try await RelayProcesses.with(lineToCRMYAML(secret: Self.secret, receiver: backend.url, retry: "[200ms]")) { relays in
                        _ = try await relays.start(environment: collector.environment())
                        let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
                        let signature = LINE.signature(body, secret: Self.secret)
                        for traceparent in ["00-00000000000000000000000000000000-\(Self.providerSpanID)-01", "zz-not-a-trace", "00-\(Self.providerTraceID.uppercased())-\(Self.providerSpanID)-01"] {
                            let reply = try await post(relays.webhookURL("line"), body: body, headers: [
                                ("X-Line-Signature", signature), ("traceparent", traceparent), ("tracestate", "a=" + String(repeating: "x", count: 4_000)),
                            ])
                            #expect(reply.status == 200)
                        }
                        #expect(await eventually(timeout: .seconds(10)) { backend.count >= 1 })
                        #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
                            collector.spans.filter { $0.kind == CollectedSpan.server }.count >= 3
                        })
                        for server in collector.spans.filter({ $0.kind == CollectedSpan.server }) {
                            #expect(server.traceID != Self.providerTraceID && server.parentSpanID.isEmpty, "a new trace: \(server)")
                        }
                        #expect(backend.hits.allSatisfy { $0.header("tracestate") == nil }, "no tracestate of kilobytes goes on")
                        let log = relays.logTail(500)
                        #expect(!log.contains(signature) && !log.contains("X-Line-Signature"), "the request's headers reached the log")
                    }
                }
            }
        }

        @Test func aLogLineInsideTheRequestSpanCarriesItsIDs() async throws {
            _ = try RelayProcesses.executable()
            try await SpanCollector.with { collector in
                try await RelayProcesses.with(lineToCRMYAML(secret: Self.secret, receiver: "http://127.0.0.1:9/hook", retry: "[1s]")) { relays in
                    _ = try await relays.start(environment: collector.environment())
                    // A forged signature: "ingest refused" is logged inside the request's span.
                    let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
                    let reply = try await post(relays.webhookURL("line"), body: body,
                                               headers: [("X-Line-Signature", LINE.signature(body, secret: "wrong")), ("traceparent", Self.providerTraceparent)])
                    #expect(reply.status == 401)
                    #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(50)) { collector.spans.contains { $0.kind == CollectedSpan.server } })
                    let server = try #require(collector.spans.first { $0.kind == CollectedSpan.server })
                    #expect(server.attributes["http.response.status_code"] == "401")
                    #expect(server.statusCode != CollectedSpan.error, "a refusal is the client's error, not the server's")
                    let line = try #require(relays.logTail(200).split(separator: "\n").first { $0.contains("ingest refused") }, "\(relays.logTail())")
                    #expect(line.contains("\"trace_id\":\"\(Self.providerTraceID)\""), "\(line)")
                    #expect(line.contains("\"span_id\":\"\(server.spanID)\""), "\(line)")
                }
            }
        }

        @Test func withNoOTELVariablesNothingReachesTheCollector() async throws {
            _ = try RelayProcesses.executable()
            // On the SDK's default endpoint when it is free: relay must not fall back to it.
            try await SpanCollector.with(preferring: 4318) { collector in
                try await Receiver.with(Self.failingOnce()) { backend in
                    try await RelayProcesses.with(lineToCRMYAML(secret: Self.secret, receiver: backend.url, retry: "[200ms]")) { relays in
                        let process = try await relays.start()
                        #expect(try await Self.send(relays.webhookURL("line")).status == 200)
                        #expect(await eventually(timeout: .seconds(10)) { backend.count >= 2 })
                        // A graceful stop would flush any exporter: after it, nothing can still be on its way.
                        kill(process.processIdentifier, SIGTERM)
                        #expect(await relays.waitForExit(process, timeout: .seconds(20))?.status == 0)
                        #expect(collector.requests == 0, "the collector got \(collector.requests) requests")
                        #expect(backend.hits.allSatisfy { $0.header("traceparent") == nil }, "no trace context is sent with tracing off")
                    }
                }
            }
        }

        /// Events of two requests sent as one batch: the batch's span is in the first event's trace and links to the
        /// other's, and the backend's `traceparent` is that span's.
        @Test func aBatchAttemptJoinsTheFirstEventsTraceAndLinksTheOthers() async throws {
            _ = try RelayProcesses.executable()
            try await SpanCollector.with { collector in
                // The first request is held, so the two sent meanwhile wait for the one slot and go out together.
                let held = Mutex(true)
                try await Receiver.with({ _ in held.withLock { $0 } ? Reply(delay: .milliseconds(400)) : .ok }) { backend in
                    try await RelayProcesses.with(BatchDelivery.yaml(receiver: backend.url, batch: 10)
                        .replacingOccurrences(of: BatchDelivery.lineSecret, with: Self.secret)) { relays in
                        _ = try await relays.start(environment: collector.environment())
                        let traces = ["0af7651916cd43dd8448eb211c80319c", "5b8efff798038103d269b633813fc60c", "9a4b1d3c2e6f7a8b0c1d2e3f4a5b6c7d"]
                        #expect(try await Self.send(relays.webhookURL("line"), traceparent: "00-\(traces[0])-b7ad6b7169203331-01").status == 200)
                        #expect(await eventually { backend.count == 1 })
                        held.withLock { $0 = false }
                        for trace in traces.dropFirst() {
                            #expect(try await Self.send(relays.webhookURL("line"), traceparent: "00-\(trace)-b7ad6b7169203331-01").status == 200)
                        }
                        #expect(await eventually(timeout: .seconds(10)) { backend.count >= 2 })
                        #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
                            collector.spans.contains { $0.kind == CollectedSpan.client && $0.attributes["relay.batch.size"] == "2" }
                        }, "\(collector.spans.map { ($0.name, $0.attributes) })")
                        let spans = collector.spans
                        let batch = try #require(spans.first { $0.kind == CollectedSpan.client && $0.attributes["relay.batch.size"] == "2" })
                        let servers = spans.filter { $0.kind == CollectedSpan.server }
                        let second = try #require(servers.first { $0.traceID == traces[1] })
                        let third = try #require(servers.first { $0.traceID == traces[2] })
                        #expect(batch.traceID == traces[1] && batch.parentSpanID == second.spanID, "a child of the first event's request")
                        #expect(batch.links.count == 1 && batch.links.first?.traceID == traces[2] && batch.links.first?.spanID == third.spanID,
                                "\(batch.links)")
                        #expect(traceparentIDs(backend.hits.last?.header("traceparent"))?.spanID == batch.spanID)
                    }
                }
            }
        }

        /// Attempt 1 on instance a fails; a is stopped; the retry runs on instance b, hours (here: a second) later,
        /// and is still a child of the request's span, with the backend's `traceparent` in that trace.
        @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
        func aRetryOnASecondInstanceStaysInTheTrace() async throws {
            _ = try RelayProcesses.executable()
            let url = try await TestPostgres.shared.makeDatabase()
            try await SpanCollector.with { collector in
                try await Receiver.with(Self.failingOnce()) { backend in
                    try await RelayProcesses.with(lineToCRMYAML(secret: Self.secret, receiver: backend.url, retry: "[1s]"),
                                                  store: "postgres: \"\(url)\"", lease: "1s") { relays in
                        let first = try await relays.start(environment: collector.environment(instance: "a"))
                        #expect(try await Self.send(relays.webhookURL("line")).status == 200)
                        #expect(await eventually(timeout: .seconds(10)) { backend.count >= 1 })
                        // Instance a stops before the retry is due (its outcome recorded on the way out); b takes the job.
                        kill(first.processIdentifier, SIGTERM)
                        #expect(await relays.waitForExit(first, timeout: .seconds(20))?.status == 0)
                        #expect(backend.count == 1, "the retry ran on the first instance")
                        let second = try RelayProcesses.Ports.free()
                        _ = try await relays.start(environment: collector.environment(instance: "b"), ports: second)
                        #expect(await eventually(timeout: .seconds(15)) { backend.count >= 2 }, "\(relays.logTail())")
                        #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(50)) {
                            collector.spans.filter { $0.kind == CollectedSpan.client }.count >= 2
                        })
                        let spans = collector.spans
                        let server = try #require(spans.first { $0.kind == CollectedSpan.server })
                        #expect(server.resource["service.instance.id"] == "a")
                        let retry = try #require(spans.first { $0.kind == CollectedSpan.client && $0.resource["service.instance.id"] == "b" },
                                                 "\(spans.map { ($0.name, $0.resource) })")
                        #expect(retry.attributes["relay.attempt"] == "2")
                        #expect(retry.traceID == Self.providerTraceID)
                        #expect(retry.parentSpanID == server.spanID, "the retry's parent is the stored request span")
                        let sent = try #require(traceparentIDs(backend.hits.last?.header("traceparent")))
                        #expect(sent.traceID == Self.providerTraceID)
                        #expect(sent.spanID == retry.spanID)
                    }
                }
            }
        }
    }
}
