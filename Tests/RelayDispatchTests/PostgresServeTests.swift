import Foundation
import RelayCore
import RelayTestSupport
import Testing

extension DeliveryEngine {
    /// `relay serve` on `store.postgres` (a real PostgreSQL): it migrates at start, acknowledges an event once,
    /// delivers it, the CLI reads the same store, and SIGTERM exits 0.
    @Suite(.enabled(if: OptionalTool.postgres.isAvailable, Comment(rawValue: OptionalTool.postgres.skipReason)))
    struct PostgresServe {
        static let secret = "line-postgres-secret"

        @Test func relayServesFromPostgresAndTheCommandsReadTheSameStore() async throws {
            _ = try RelayProcesses.executable()
            let url = try await TestPostgres.shared.makeDatabase()
            try await Receiver.with { receiver in
                let relays = try RelayProcesses(yamlBody: "")
                try relays.writeConfig("", raw: """
                    listen: 127.0.0.1:\(relays.listenPort)
                    admin:
                      listen: 127.0.0.1:\(relays.adminPort)
                    store:
                      postgres: \(url)

                    """ + lineToCRMYAML(secret: Self.secret, receiver: receiver.url, retry: "[100ms]"))
                let process = try await relays.start()
                do {
                    let body = LINE.body([LINE.deliveryEvent(id: LINE.eventID())])
                    let headers = [("X-Line-Signature", LINE.signature(body, secret: Self.secret)), ("Content-Type", "application/json")]
                    let first = try await post(relays.webhookURL("line"), body: body, headers: headers)
                    let second = try await post(relays.webhookURL("line"), body: body, headers: headers)
                    #expect(first.status == 200 && first.body.contains("\"accepted\":1"), "\(first.body)")
                    #expect(second.status == 200 && second.body.contains("\"duplicates\":1"), "\(second.body)")
                    #expect(await eventually(timeout: .seconds(10)) { receiver.hits.count == 1 })

                    let stats = try await runRelayCommand(["stats", "--json", "--config", relays.configPath])
                    #expect(stats.status == 0, "\(stats.stderr)")
                    let crm = try #require(try JSONParser.parse(Array(stats.stdout.utf8))["destinations"]?.arrayValue?.first)
                    #expect(crm["destination"]?.stringValue == "crm")
                    #expect(await eventually(timeout: .seconds(5), poll: .milliseconds(200)) {
                        let again = try await runRelayCommand(["stats", "--json", "--config", relays.configPath])
                        return try JSONParser.parse(Array(again.stdout.utf8))["destinations"]?.arrayValue?.first?["delivered"]?.int64Value == 1
                    })

                    kill(process.processIdentifier, SIGTERM)
                    let exit = await relays.waitForExit(process, timeout: .seconds(15))
                    #expect(exit?.reason == .exit && exit?.status == 0, "\(relays.logTail())")
                    #expect(receiver.hits.count == 1)
                } catch {
                    print("relay log:\n\(relays.logTail())")
                    await relays.cleanUp()
                    throw error
                }
                await relays.cleanUp()
            }
        }
    }
}
