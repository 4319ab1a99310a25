import ArgumentParser
import Foundation
import RelayCore
import RelayServer
import RelayStore

/// `relay messages show`: one message's status and timeline from the receipt ledger (SPEC section 10).
struct Messages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the receipt ledger holds for a message.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a message's status, channels, overdue flag and timeline.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "The provider's message id (or the delivery key it echoes).") var messageID: String
        @Option(help: "The source id, when the id is held under several.") var source: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let found = try await options.withStore { _, store in
                if let source { return try await store.message(sourceID: source, messageID: messageID).map { [$0] } ?? [] }
                return try await store.messages(messageID: messageID)
            }
            guard let record = found.first else {
                throw CommandFailure.exit("no message \"\(messageID)\"\(source.map { " from source \"\($0)\"" } ?? "") in the ledger")
            }
            guard found.count == 1 else {
                throw CommandFailure.exit("message \"\(messageID)\" is held under several sources (\(found.map(\.sourceID).joined(separator: ", "))): pass --source")
            }
            let body = MessageBody(record)
            if json {
                print(AdminJSON.text(body))
                return
            }
            print(Self.render(body))
        }

        static func render(_ body: MessageBody) -> String {
            var lines = ["message \(body.messageID) (source \(body.sourceID)): \(body.status ?? "no status yet")"
                + (body.overdue ? ", overdue" : "") + (body.overdueAt.map { ", overdue at \($0) unless a receipt comes" } ?? "")]
            if !body.channels.isEmpty {
                lines.append("channels: " + body.channels.sorted { $0.key < $1.key }.map { "\($0.key.isEmpty ? "-" : $0.key) \($0.value)" }.joined(separator: ", "))
            }
            let rows = body.history.map { entry in
                [entry.receivedAt, entry.status + (entry.detail.map { " (\($0))" } ?? ""), entry.channel.isEmpty ? "-" : entry.channel,
                 entry.time, entry.advanced ? "yes" : "no", entry.eventID]
            }
            lines.append(Table.render(header: ["RECEIVED", "STATUS", "CHANNEL", "PROVIDER TIME", "ADVANCED", "EVENT"], rows: rows))
            if body.historyDropped > 0 { lines.append("(\(body.historyDropped) later status events not kept in the timeline)") }
            return lines.joined(separator: "\n")
        }
    }
}
