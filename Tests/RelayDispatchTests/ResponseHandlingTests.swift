import Foundation
import HTTPTypes
import RelayCore
import RelayStore
import Testing

extension DeliveryEngine {
    /// What comes back from a destination: redirects are not followed, huge bodies are not kept, a slow answer is a
    /// timeout, a refused connection is an error.
    @Suite struct ResponseHandling {
        static let secret = "line-response-secret"

        static func yaml(receiver: String, timeout: String = "5s") -> String {
            lineToCRMYAML(secret: secret, receiver: receiver, retry: "[100ms]", destinationExtra: "format: canonical\n    timeout: \(timeout)\n    breaker: off")
        }

        /// Sends one event and waits for its dead letter.
        static func deadLetter(_ engine: Engine, within timeout: Duration = .seconds(4)) async throws -> DeadLetter {
            let id = LINE.eventID()
            #expect(try await engine.postLINE(LINE.body([LINE.deliveryEvent(id: id)]), secret: secret).status == 200)
            #expect(await eventually(timeout: timeout) { try await engine.stats("crm").dead == 1 }, "no dead letter")
            let letter = try #require(try await engine.store.deadLetters(destination: "crm", limit: 10).first)
            #expect(letter.eventID == id)
            return letter
        }

        @Test func redirectsAreNotFollowed() async throws {
            try await Receiver.with { elsewhere in
                let redirect = Reply(status: .found, headers: [.location: elsewhere.url])
                try await Receiver.with({ _ in redirect }) { receiver in
                    try await Engine.with(yaml: Self.yaml(receiver: receiver.url)) { engine in
                        let letter = try await Self.deadLetter(engine)
                        #expect(letter.lastStatus == 302)
                        #expect(letter.attempts == 2)
                        #expect(receiver.count == 2)
                        #expect(elsewhere.count == 0, "the redirect was followed")
                    }
                }
            }
        }

        @Test func hugeErrorBodyIsCutToTheSnippetLimit() async throws {
            let huge = Reply(status: .internalServerError, body: [UInt8](repeating: UInt8(ascii: "x"), count: 5 << 20))
            try await Receiver.with({ _ in huge }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url)) { engine in
                    let letter = try await Self.deadLetter(engine)
                    #expect(letter.lastStatus == 500)
                    let snippet = try #require(letter.lastResponse)
                    #expect(snippet.utf8.count <= 1024)
                    #expect(!snippet.isEmpty && snippet.allSatisfy { $0 == "x" })
                    #expect(receiver.count == 2)
                }
            }
        }

        @Test func slowReceiverBeyondTheTimeoutIsRecordedAsTimeout() async throws {
            try await Receiver.with({ _ in Reply(delay: .seconds(5)) }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, timeout: "400ms")) { engine in
                    let started = ContinuousClock.now
                    let letter = try await Self.deadLetter(engine)
                    let took = milliseconds(from: started, to: .now)
                    #expect(letter.lastError == "timed out after 400ms")
                    #expect(letter.lastStatus == nil)
                    #expect(letter.attempts == 2)
                    // Two attempts of 400 ms and a 100 ms pause; nowhere near the receiver's 5 s.
                    #expect(took >= 850 && took < 2_500, "two timed-out attempts took \(took) ms")
                }
            }
        }

        /// An error status whose body never ends must not hold the attempt (and its slot) past the timeout.
        @Test func stalledErrorBodyEndsTheAttemptAtTheTimeout() async throws {
            let stalled = Reply(status: .internalServerError, body: Array("partial answer".utf8), stallAfterBody: .seconds(20))
            try await Receiver.with({ _ in stalled }) { receiver in
                try await Engine.with(yaml: Self.yaml(receiver: receiver.url, timeout: "500ms")) { engine in
                    let started = ContinuousClock.now
                    let letter = try await Self.deadLetter(engine, within: .seconds(5))
                    let took = milliseconds(from: started, to: .now)
                    #expect(letter.attempts == 2)
                    #expect(letter.lastStatus == 500)
                    #expect(letter.lastResponse == "partial answer")
                    #expect(took < 2_500, "two attempts with a stalled body took \(took) ms")
                }
            }
        }

        @Test func refusedConnectionIsAnErrorWithoutStatus() async throws {
            let port = try freePort()  // nothing listens there
            try await Engine.with(yaml: Self.yaml(receiver: "http://127.0.0.1:\(port)/hook")) { engine in
                let started = ContinuousClock.now
                let letter = try await Self.deadLetter(engine)
                let took = milliseconds(from: started, to: .now)
                // Each refused attempt fails at once; the schedule, not a hidden reconnect loop, spaces them.
                #expect(took < 1_000, "two refused attempts took \(took) ms")
                #expect(letter.lastStatus == nil)
                #expect(letter.lastError?.isEmpty == false)
                #expect(letter.lastError?.contains("refused") == true, "last error: \(letter.lastError ?? "-")")
                #expect(letter.lastError == "connection refused")
                #expect(letter.attempts == 2)
            }
        }
    }
}
