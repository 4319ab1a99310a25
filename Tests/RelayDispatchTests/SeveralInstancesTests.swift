import Foundation
import RelayCore
import RelayTestSupport
import Synchronization
import Testing

extension DeliveryEngine {
    /// Two real `relay serve` processes on one real PostgreSQL database (SPEC 9): exact dedup across them, a killed or
    /// frozen instance's jobs taken over within `timeout + lease` with its late answer fenced, an outage answered with
    /// 503s only, and a rolling restart that loses nothing.
    @Suite(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
    struct SeveralInstances {
        static let secret = "line-several-instances-secret"
        /// Each claim holds a job for timeout + lease: 3 s here.
        static let timeout = Duration.seconds(2)
        static let lease = Duration.seconds(1)

        /// Two instances (`relays.ports` and `second`) on a fresh database of `postgres`, delivering to `receiver`.
        static func withTwo(
            postgres: TestPostgres = .shared, reply: @escaping @Sendable (Hit) -> Reply = { _ in .ok }, extraYAML: String = "",
            startSecond: Bool = true,
            _ body: (Receiver, RelayProcesses, _ first: Process, _ second: RelayProcesses.Ports) async throws -> Void
        ) async throws {
            _ = try RelayProcesses.executable()
            let url = try await postgres.makeDatabase()
            try await Receiver.with(reply) { receiver in
                let yaml = extraYAML + lineToCRMYAML(
                    secret: secret, receiver: receiver.url, retry: "[200ms, 400ms, 800ms, 1s, 1s, 1s, 1s, 1s]",
                    destinationExtra: "format: canonical\n    timeout: 2s")
                let relays = try RelayProcesses(yamlBody: yaml, store: "postgres: \"\(url)\"", lease: "1s")
                let second = try RelayProcesses.Ports.free()
                do {
                    let first = try await relays.start()
                    if startSecond { _ = try await relays.start(ports: second) }
                    try await body(receiver, relays, first, second)
                    await relays.cleanUp()
                } catch {
                    print("relay log:\n\(relays.logTail(60))")
                    await relays.cleanUp()
                    throw error
                }
            }
        }

        static func distinctIDs(_ receiver: Receiver) -> Set<String> { Set(receiver.hits.compactMap { $0.header("webhook-id") }) }

        /// `crm`'s job counts from an instance's `/admin/stats` (the shared store's, whichever instance answers).
        static func crmCounts(adminPort: Int) async -> (pending: Int64, inFlight: Int64, delivered: Int64, dead: Int64)? {
            guard let reply = await get("http://127.0.0.1:\(adminPort)/admin/stats"), reply.status == 200,
                  let crm = try? JSONParser.parse(Array(reply.body.utf8))["destinations"]?.arrayValue?.first else { return nil }
            return (crm["pending"]?.int64Value ?? -1, crm["in_flight"]?.int64Value ?? -1, crm["delivered"]?.int64Value ?? -1, crm["dead"]?.int64Value ?? -1)
        }

        /// A counter's value in an instance's `/metrics` (0 when not exported yet).
        static func metric(_ name: String, adminPort: Int) async -> Double? {
            guard let reply = await get("http://127.0.0.1:\(adminPort)/metrics"), reply.status == 200 else { return nil }
            let line = reply.body.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            return line.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } ?? 0
        }

        @Test func fiftyCopiesAcrossTwoInstancesAreAcceptedOnceAndDeliveredOnce() async throws {
            try await Self.withTwo { receiver, relays, _, second in
                let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
                let headers = [("X-Line-Signature", LINE.signature(body, secret: Self.secret))]
                let urls = [relays.webhookURL("line"), second.webhookURL("line")]
                let replies = await withTaskGroup(of: HTTPReply?.self) { group in
                    for i in 0..<50 { group.addTask { try? await post(urls[i % 2], body: body, headers: headers) } }
                    return await group.reduce(into: [HTTPReply?]()) { $0.append($1) }
                }
                #expect(replies.allSatisfy { $0?.status == 200 }, "\(replies.map { $0?.status ?? 0 })")
                let accepted = replies.compactMap { $0.flatMap { try? JSONParser.parse(Array($0.body.utf8))["accepted"]?.int64Value } }.reduce(0, +)
                #expect(accepted == 1, "accepted \(accepted) of 50 copies")
                // Delivered once, and nothing is left that could send it again.
                #expect(await eventually(timeout: .seconds(10)) { receiver.count >= 1 })
                #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(100)) {
                    guard let crm = await Self.crmCounts(adminPort: second.admin) else { return false }
                    return crm.delivered == 1 && crm.pending == 0 && crm.inFlight == 0
                })
                #expect(receiver.count == 1)
            }
        }

        /// A frozen instance (SIGSTOP) is one presumed dead that answers late: the other takes its job over when the
        /// claim lapses, not before, and the frozen one's late outcome, once it runs again, is refused.
        @Test func aFrozenInstancesJobIsTakenOverWhenItsClaimLapsesAndItsLateOutcomeIsFenced() async throws {
            // The first attempt (the instance that gets frozen) is answered 500, every later one 200: an outcome
            // written from the late 500 would put the delivered job back to pending and bring a third request.
            try await Self.withTwo(reply: { $0.index == 0 ? Reply(status: .internalServerError, delay: .milliseconds(300)) : .ok }, startSecond: false) {
                receiver, relays, first, second in
                let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
                let ack = try await post(relays.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: Self.secret))])
                #expect(ack.status == 200)
                #expect(await eventually(timeout: .seconds(5), poll: .milliseconds(1)) { receiver.count >= 1 })
                kill(first.processIdentifier, SIGSTOP)
                let claimedAt = try #require(receiver.hits.first).arrivedAt
                _ = try await relays.start(ports: second)
                let hold = Self.timeout + Self.lease
                #expect(await eventually(timeout: hold + .seconds(5), poll: .milliseconds(5)) { receiver.count >= 2 })
                let takeover = try #require(receiver.hits.dropFirst().first).arrivedAt - claimedAt
                print("takeover after the frozen instance's claim: \(takeover) (timeout + lease = \(hold))")
                // Not before the claim lapsed (one attempt at a time), and soon after.
                #expect(takeover >= hold - .milliseconds(100) && takeover <= hold + .seconds(1), "\(takeover)")
                #expect(await eventually(timeout: .seconds(5), poll: .milliseconds(50)) { await Self.crmCounts(adminPort: second.admin)?.delivered == 1 })

                kill(first.processIdentifier, SIGCONT)
                #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(100)) {
                    await Self.metric("relay_delivery_fenced_total", adminPort: relays.adminPort) == 1
                }, "the late outcome was not refused")
                let crm = await Self.crmCounts(adminPort: relays.adminPort)
                #expect(crm?.delivered == 1 && crm?.pending == 0 && crm?.inFlight == 0, "\(String(describing: crm))")
                #expect(receiver.count == 2)
            }
        }

        @Test func aStreamAcrossTwoInstancesLosesNothingWhenOneIsKilled() async throws {
            try await Self.withTwo(reply: { _ in Reply(delay: .milliseconds(50)) }) { receiver, relays, first, second in
                let traffic = LINETraffic(count: 400)
                let killedAt = Mutex<(at: ContinuousClock.Instant, received: Set<String>, acked: Set<String>)?>(nil)
                await traffic.run(urls: [relays.webhookURL("line"), second.webhookURL("line")], secret: Self.secret, senders: 4) { acked in
                    guard acked == 150 else { return }
                    kill(first.processIdentifier, SIGKILL)
                    killedAt.withLock { $0 = (.now, Self.distinctIDs(receiver), Set(traffic.acked)) }
                }
                let killed = try #require(killedAt.withLock { $0 })
                let acked = Set(traffic.acked)
                #expect(await eventually(timeout: .seconds(20), poll: .milliseconds(50)) { acked.isSubset(of: Self.distinctIDs(receiver)) },
                        "\(acked.subtracting(Self.distinctIDs(receiver)).count) acknowledged events never arrived")
                // The events acknowledged but not yet delivered at the kill include the killed instance's claims: the
                // last of them arrives once those claims lapse.
                let waiting = killed.acked.subtracting(killed.received)
                let arrivals = Dictionary(receiver.hits.compactMap { hit in hit.header("webhook-id").map { ($0, hit.arrivedAt) } }, uniquingKeysWith: min)
                let lastTakenOver = waiting.compactMap { arrivals[$0] }.max().map { $0 - killed.at } ?? .zero
                print("kill -9 of one of two: sent \(traffic.sent), acked \(acked.count), received distinct \(Self.distinctIDs(receiver).count), "
                    + "duplicates \(receiver.count - Self.distinctIDs(receiver).count); events waiting at the kill \(waiting.count), "
                    + "the last of them delivered \(lastTakenOver) after the kill (timeout + lease = \(Self.timeout + Self.lease))")
                #expect(lastTakenOver <= Self.timeout + Self.lease + .seconds(2))
                #expect(await eventually(timeout: .seconds(10), poll: .milliseconds(100)) {
                    guard let crm = await Self.crmCounts(adminPort: second.admin) else { return false }
                    return crm.pending == 0 && crm.inFlight == 0 && crm.dead == 0
                })
            }
        }

        @Test func anOutageAnswers503OnlyAndDeliveryResumesWithoutARestart() async throws {
            let postgres = TestPostgres()
            try await Self.withTwo(postgres: postgres, startSecond: false) { receiver, relays, relay, _ in
                let traffic = LINETraffic(count: 100_000)
                let phase = Mutex<(outageFrom: ContinuousClock.Instant?, outageTo: ContinuousClock.Instant?, readyz: [Int])>((nil, nil, []))
                async let sending: Void = traffic.run(urls: [relays.webhookURL("line")], secret: Self.secret, senders: 4, pause: .milliseconds(10))
                // Some traffic first, then PostgreSQL goes away for five seconds under it.
                _ = await eventually(timeout: .seconds(10), poll: .milliseconds(20)) { traffic.acked.count >= 100 }
                try await postgres.stop()
                phase.withLock { $0.outageFrom = .now }
                let outageEnds = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < outageEnds {
                    if let status = await get("http://127.0.0.1:\(relays.listenPort)/readyz")?.status { phase.withLock { $0.readyz.append(status) } }
                    try await Task.sleep(for: .milliseconds(200))
                }
                phase.withLock { $0.outageTo = .now }
                try await postgres.restart()
                let resumed = await eventually(timeout: .seconds(15), poll: .milliseconds(20)) {
                    traffic.replies.last(where: { $0.status != nil })?.status == 200
                }
                let ackedBeforeEnd = traffic.acked.count
                _ = await eventually(timeout: .seconds(10), poll: .milliseconds(20)) { traffic.acked.count >= ackedBeforeEnd + 100 }
                traffic.stop()
                await sending

                let (from, to, readyz) = phase.withLock { ($0.outageFrom!, $0.outageTo!, $0.readyz) }
                // Answers to requests sent while the database was away (a request takes at most a few ms to answer).
                let during = traffic.replies.filter { $0.at > from + .milliseconds(50) && $0.at < to }
                let statuses = Dictionary(grouping: during, by: { $0.status ?? 0 }).mapValues(\.count)
                let acked = Set(traffic.acked)
                #expect(resumed, "no 200 after PostgreSQL came back")
                #expect(await eventually(timeout: .seconds(20), poll: .milliseconds(50)) { acked.isSubset(of: Self.distinctIDs(receiver)) },
                        "\(acked.subtracting(Self.distinctIDs(receiver)).count) acknowledged events never arrived")
                let falseAcks = during.filter { $0.status == 200 && !Self.distinctIDs(receiver).contains($0.id) }.count
                print("outage: \(traffic.sent) requests, \(acked.count) acked; during the outage \(during.count) answered: \(statuses.sorted { $0.key < $1.key }); "
                    + "200s during it \(statuses[200] ?? 0), of them never stored \(falseAcks); /readyz during it \(readyz)")
                #expect(!during.isEmpty && during.allSatisfy { $0.status == 503 }, "\(statuses)\n\(relays.logTail(40))")
                #expect(falseAcks == 0)
                #expect(!readyz.isEmpty && readyz.allSatisfy { $0 == 503 }, "\(readyz)")
                #expect(relay.isRunning)
                #expect(await get("http://127.0.0.1:\(relays.listenPort)/readyz")?.status == 200)
            }
        }

        @Test func aRollingRestartTurnsReadinessOffFirstAndLosesNothing() async throws {
            try await Self.withTwo(extraYAML: "shutdown_delay: 1s\n") { receiver, relays, first, second in
                let traffic = LINETraffic(count: 2_000)
                let stopped = Mutex<(signalled: ContinuousClock.Instant, notReady: ContinuousClock.Instant?, acceptedAfterNotReady: Bool)?>(nil)
                async let sending: Void = traffic.run(urls: [relays.webhookURL("line"), second.webhookURL("line")], secret: Self.secret, senders: 4, pause: .milliseconds(5))
                _ = await eventually(timeout: .seconds(10), poll: .milliseconds(20)) { traffic.acked.count >= 100 }
                kill(first.processIdentifier, SIGTERM)
                let signalled = ContinuousClock.now
                var notReady: ContinuousClock.Instant?
                _ = await eventually(timeout: .seconds(5), poll: .milliseconds(10)) {
                    guard await get("http://127.0.0.1:\(relays.listenPort)/readyz")?.status == 503 else { return false }
                    notReady = .now
                    return true
                }
                // Still accepting after /readyz said 503: a load balancer has time to take it out.
                let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
                let late = try? await post(relays.webhookURL("line"), body: body, headers: [("X-Line-Signature", LINE.signature(body, secret: Self.secret))])
                stopped.withLock { $0 = (signalled, notReady, late?.status == 200) }
                let exit = await relays.waitForExit(first, timeout: .seconds(20))
                await sending
                let acked = Set(traffic.acked)
                let state = try #require(stopped.withLock { $0 })
                print("rolling restart: sent \(traffic.sent), acked \(acked.count); /readyz 503 \(state.notReady.map { $0 - state.signalled }.map { "\($0)" } ?? "never") after SIGTERM")
                #expect(state.notReady != nil && state.notReady! - state.signalled < .milliseconds(500))
                #expect(state.acceptedAfterNotReady, "the stopping instance no longer accepted once /readyz said 503")
                #expect(exit?.reason == .exit && exit?.status == 0, "\(String(describing: exit))")
                #expect(await eventually(timeout: .seconds(20), poll: .milliseconds(50)) { acked.isSubset(of: Self.distinctIDs(receiver)) },
                        "\(acked.subtracting(Self.distinctIDs(receiver)).count) acknowledged events never arrived")
            }
        }
    }
}
