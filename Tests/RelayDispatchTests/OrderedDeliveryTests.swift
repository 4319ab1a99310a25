import Foundation
import RelayCore
import RelayTestSupport
import Synchronization
import Testing

extension DeliveryEngine {
    /// Ordered delivery per subject (SPEC section 14) end to end: real `relay serve` processes on each store, a real
    /// receiver that refuses 30 % of first attempts and answers after up to 40 ms, and the receiver's own record of
    /// when each attempt arrived and was answered.
    @Suite("Ordered delivery")
    struct OrderedDeliveryTests {
        static let token = "eight-ordering-token"
        static let lineSecret = "line-ordering-secret"
        static let statuses = ["queued", "sent", "delivered", "read"]

        static func yaml(receiver: String, concurrency: Int = 8, timeout: String = "5s", retry: String = "[150ms, 150ms, 150ms, 150ms, 150ms, 150ms, 150ms, 150ms]") -> String {
            """
            retry: \(retry)
            sources:
              eightxeight:
                provider: 8x8
                auth:
                  bearer: \(token)
              line:
                provider: line
                channel_secret: \(lineSecret)
            destinations:
              crm:
                url: \(receiver)
                ordering: subject
                concurrency: \(concurrency)
                timeout: \(timeout)
                breaker: off
            routes:
              - to: [crm]

            """
        }

        static var kinds: [String] { OptionalTool.postgres.isAvailable ? ["sqlite", "postgres"] : ["sqlite"] }

        static func storeYAML(_ kind: String) async throws -> String? {
            kind == "postgres" ? "postgres: \"\(try await TestPostgres.shared.makeDatabase())\"" : nil
        }

        /// One attempt as the receiver saw it: its subject, its place in the subject's order, and when it arrived and
        /// was answered (the receiver's clock).
        struct Attempt: Sendable {
            var eventID: String
            var subject: String
            var rank: Int
            var arrived: ContinuousClock.Instant
            var answered: ContinuousClock.Instant
            var ok: Bool
        }

        /// Records attempts and decides each reply: a refusal for about 30 % of events' first attempts (or as
        /// `refuse` says), after a delay of up to 40 ms.
        final class Backend: Sendable {
            let attempts = Mutex<[Attempt]>([])
            let seen = Mutex<Set<String>>([])
            let rank: @Sendable (JSONValue) -> Int
            let refuse: @Sendable (JSONValue, _ first: Bool) -> Bool

            init(rank: @escaping @Sendable (JSONValue) -> Int,
                 refuse: @escaping @Sendable (JSONValue, Bool) -> Bool = { event, first in first && event["id"]?.stringValue.map { abs($0.hashValue) % 10 < 3 } == true }) {
                self.rank = rank
                self.refuse = refuse
            }

            func reply(_ hit: Hit) -> Reply {
                guard let event = try? JSONParser.parse(hit.body), let id = event["id"]?.stringValue, let subject = event["subject"]?.stringValue else {
                    return .status(.badRequest)
                }
                let first = seen.withLock { $0.insert(id).inserted }
                let ok = !refuse(event, first)
                let delay = Duration.milliseconds(Int.random(in: 0...40))
                attempts.withLock {
                    $0.append(Attempt(eventID: id, subject: subject, rank: rank(event), arrived: hit.arrivedAt, answered: hit.arrivedAt + delay, ok: ok))
                }
                return Reply(status: ok ? .ok : .serviceUnavailable, delay: delay)
            }

            var delivered: Set<String> { Set(attempts.withLock { $0 }.filter(\.ok).map(\.eventID)) }

            /// Per subject: attempts never go back in the order, and none starts before every earlier event of its
            /// subject was answered 2xx. Returns the violations.
            func violations() -> [String] {
                var problems: [String] = []
                let bySubject = Dictionary(grouping: attempts.withLock { $0 }, by: \.subject)
                for (subject, list) in bySubject {
                    let sorted = list.sorted { $0.arrived < $1.arrived }
                    for (a, b) in zip(sorted, sorted.dropFirst()) where b.rank < a.rank {
                        problems.append("\(subject): rank \(b.rank) arrived after rank \(a.rank)")
                    }
                    var okAt: [Int: ContinuousClock.Instant] = [:]
                    for attempt in sorted where attempt.ok { okAt[attempt.rank] = min(okAt[attempt.rank] ?? attempt.answered, attempt.answered) }
                    for attempt in sorted {
                        for earlier in 0..<attempt.rank {
                            guard let answered = okAt[earlier] else {
                                problems.append("\(subject): rank \(attempt.rank) started though rank \(earlier) was never delivered")
                                continue
                            }
                            if answered > attempt.arrived { problems.append("\(subject): rank \(attempt.rank) started before rank \(earlier) was answered 2xx") }
                        }
                    }
                }
                return problems
            }
        }

        static func statusRank(_ event: JSONValue) -> Int {
            statuses.firstIndex(of: event["data"]?["status"]?.stringValue ?? "") ?? -1
        }

        static func postStatus(_ url: String, umid: String, _ state: String) async throws -> Int {
            try await post(url, body: Array(EightByEightBodies.status(umid: umid, state: state).utf8), headers: [("Authorization", "Bearer \(token)")]).status
        }

        /// Each status round for every message, one round after the other: within a message, commit order is the
        /// status order.
        static func sendStatuses(_ urls: [String], umids: [String], states: [String] = statuses) async throws {
            for state in states {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for (index, umid) in umids.enumerated() {
                        group.addTask { try await postStatus(urls[index % urls.count], umid: umid, state) }
                    }
                    for try await status in group { #expect(status == 200) }
                }
            }
        }

        static func withRelays(_ yaml: String, store: String?, lease: String? = nil, _ body: (RelayProcesses) async throws -> Void) async throws {
            try await RelayProcesses.with(yaml, store: store, lease: lease, body)
        }

        @Test(arguments: kinds)
        func statusesOfEachMessageArriveInOrderWhileMessagesGoInParallel(kind: String) async throws {
            let backend = Backend(rank: Self.statusRank)
            try await Receiver.with({ backend.reply($0) }) { receiver in
                try await Self.withRelays(Self.yaml(receiver: receiver.url), store: try await Self.storeYAML(kind)) { relays in
                    _ = try await relays.start()
                    let umids = (0..<40).map { _ in UUID().uuidString.lowercased() }
                    try await Self.sendStatuses([relays.webhookURL("eightxeight")], umids: umids)
                    #expect(await eventually(timeout: .seconds(60), poll: .milliseconds(50)) { backend.delivered.count == 160 },
                            "delivered \(backend.delivered.count) of 160")
                    let attempts = backend.attempts.withLock { $0 }
                    #expect(backend.violations().isEmpty, "\(backend.violations().prefix(5))")
                    #expect(attempts.count(where: \.ok) == 160, "each event answered 2xx once")
                    #expect(attempts.count(where: { !$0.ok }) > 0, "some first attempts were refused")
                    #expect(receiver.peakConcurrency >= 3, "other subjects were serialized: at most \(receiver.peakConcurrency) at once")
                }
            }
        }

        @Test(arguments: kinds)
        func aRefusedHeadHoldsBackOnlyItsMessage(kind: String) async throws {
            let slow = "slow-" + UUID().uuidString.lowercased()
            let until = ContinuousClock.now + .seconds(3)
            let backend = Backend(rank: Self.statusRank) { event, _ in
                event["subject"]?.stringValue == slow && Self.statusRank(event) == 0 && ContinuousClock.now < until
            }
            try await Receiver.with({ backend.reply($0) }) { receiver in
                // Retries every 250 ms for 5 s (20 delays, the most allowed).
                let retry = "[" + Array(repeating: "250ms", count: 20).joined(separator: ", ") + "]"
                try await Self.withRelays(Self.yaml(receiver: receiver.url, retry: retry), store: try await Self.storeYAML(kind)) { relays in
                    _ = try await relays.start()
                    let others = (0..<10).map { _ in UUID().uuidString.lowercased() }
                    try await Self.sendStatuses([relays.webhookURL("eightxeight")], umids: [slow] + others)
                    #expect(await eventually(timeout: .seconds(30), poll: .milliseconds(50)) { backend.delivered.count == 44 })
                    #expect(backend.violations().isEmpty, "\(backend.violations().prefix(5))")
                    let attempts = backend.attempts.withLock { $0 }
                    let slowFirstOK = try #require(attempts.filter { $0.subject == slow && $0.ok }.map(\.arrived).min())
                    let othersDone = try #require(attempts.filter { $0.subject != slow && $0.ok }.map(\.answered).max())
                    #expect(othersDone < slowFirstOK, "the other messages all finished while the slow one's head was refused")
                    #expect(attempts.filter { $0.subject == slow && !$0.ok }.count >= 5, "the head was retried while refused")
                }
            }
        }

        /// LINE chat events: the subject is the user, and one request's body order is the order.
        @Test(arguments: kinds)
        func messagesOfEachUserArriveInOrder(kind: String) async throws {
            let backend = Backend(rank: { event in Int(event["data"]?["message"]?["id"]?.stringValue?.split(separator: "-").last ?? "") ?? -1 })
            try await Receiver.with({ backend.reply($0) }) { receiver in
                try await Self.withRelays(Self.yaml(receiver: receiver.url), store: try await Self.storeYAML(kind)) { relays in
                    _ = try await relays.start()
                    let users = (0..<12).map { _ in "U" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }
                    var events: [String] = []
                    for message in 0..<6 {
                        for user in users {
                            let id = LINE.eventID()
                            events.append(#"{"type":"message","message":{"type":"text","id":"\#(user)-\#(message)","text":"hi"},"replyToken":"r\#(id)","#
                                + #""source":{"type":"user","userId":"\#(user)"},"webhookEventId":"\#(id)","deliveryContext":{"isRedelivery":false},"#
                                + #""timestamp":\#(Timestamp.nowMilliseconds()),"mode":"active"}"#)
                        }
                    }
                    let body = LINE.body(events)
                    let reply = try await post(relays.webhookURL("line"), body: body, headers: [("x-line-signature", LINE.signature(body, secret: Self.lineSecret))])
                    #expect(reply.status == 200)
                    #expect(await eventually(timeout: .seconds(60), poll: .milliseconds(50)) { backend.delivered.count == 72 })
                    #expect(backend.violations().isEmpty, "\(backend.violations().prefix(5))")
                    #expect(Set(backend.attempts.withLock { $0 }.map(\.subject)) == Set(users), "each event's subject is its user")
                    #expect(receiver.peakConcurrency >= 3)
                }
            }
        }

        /// Two instances on one PostgreSQL, one killed with kill -9 while it holds heads: the other takes them over
        /// once their claims lapse (timeout 1 s + lease 1 s), and no subject ever goes out of order.
        @Test(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
        func twoInstancesAndAKillNineKeepEachSubjectInOrder() async throws {
            let backend = Backend(rank: Self.statusRank)
            try await Receiver.with({ backend.reply($0) }) { receiver in
                try await Self.withRelays(Self.yaml(receiver: receiver.url, timeout: "1s"), store: try await Self.storeYAML("postgres"), lease: "1s") { relays in
                    let first = try await relays.start()
                    let secondPorts = try RelayProcesses.Ports.free()
                    _ = try await relays.start(ports: secondPorts)
                    let umids = (0..<30).map { _ in UUID().uuidString.lowercased() }
                    let urls = [relays.webhookURL("eightxeight"), secondPorts.webhookURL("eightxeight")]
                    // The first two rounds through both instances; the first dies as soon as they are stored, with attempts in
                    // hand and claims that lapse only after 2 s; the last two rounds go to the survivor.
                    try await Self.sendStatuses(urls, umids: umids, states: Array(Self.statuses.prefix(2)))
                    kill(first.processIdentifier, SIGKILL)
                    _ = await relays.waitForExit(first, timeout: .seconds(5))
                    try await Self.sendStatuses([urls[1]], umids: umids, states: Array(Self.statuses.dropFirst(2)))
                    #expect(await eventually(timeout: .seconds(60), poll: .milliseconds(50)) { backend.delivered.count == 120 },
                            "delivered \(backend.delivered.count) of 120")
                    #expect(backend.violations().isEmpty, "\(backend.violations().prefix(5))")
                }
            }
        }
    }
}
