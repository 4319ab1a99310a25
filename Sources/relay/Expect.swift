import ArgumentParser
import RelayCore
import RelayServer
import RelayStore

/// `relay expect`: registers expected deliveries (SPEC section 10a), as `POST /admin/expectations` does.
struct Expect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register deliveries you expect (the keys the provider's receipts will echo); one overdue event each if none comes.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "The source the receipts will come to.") var source: String
    @Option(help: "How long the receipt may take (default: the source's expect_receipt, else 24h).") var within: String?
    @Argument(help: "Keys: the delivery tags sent, or the phone hashes the provider uses.") var keys: [String]

    func run() async throws {
        let result = try await options.withStore { config, store in
            try await store.expect(try request(config))
        }
        print("registered: \(result.registered)   already met: \(result.alreadyMet)")
    }

    /// The same checks as the admin endpoint, turned into one line each.
    func request(_ config: RelayConfig) throws -> ExpectationRequest {
        var body = JSONObject()
        body.append("source", .string(source))
        body.append("expectations", .array(keys.map { key in
            var item = JSONObject()
            item.append("key", .string(key))
            item.append("within", within.map(JSONValue.string))
            return .object(item)
        }))
        do {
            return try ExpectationsBody.parse(JSONWriter.serialize(.object(body)), config: config, nowMilliseconds: Timestamp.nowMilliseconds())
        } catch {
            throw CommandFailure.exit(error.message)
        }
    }
}
