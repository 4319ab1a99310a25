import ArgumentParser
import Foundation
import RelayCore
import RelayServer

/// `relay dlq list|replay`.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "List or replay dead letters.", subcommands: [List.self, Replay.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters with their last error.")

        @OptionGroup var options: ConfigOptions
        @Option(help: "Only this destination.") var destination: String?
        @Option(help: "At most this many.") var limit = 1000
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            // As the admin API: SQLite reads a negative LIMIT as none at all.
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            let letters = try await options.withStore { _, store in try await store.deadLetters(destination: destination, limit: limit) }
            if json {
                print(AdminJSON.text(letters.map(DeadLetterBody.init)))
                return
            }
            guard !letters.isEmpty else {
                print("no dead letters" + (destination.map { " for \($0)" } ?? ""))
                return
            }
            let rows = letters.map { d in
                [String(d.id), d.destination, d.eventID, d.type, String(d.attempts), d.lastStatus.map(String.init) ?? "-",
                 Timestamp.format(epochMilliseconds: d.failedAtMilliseconds), String((d.lastError ?? "").prefix(60))]
            }
            print(Table.render(header: ["ID", "DESTINATION", "EVENT", "TYPE", "ATTEMPTS", "STATUS", "FAILED AT", "LAST ERROR"], rows: rows))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move dead letters back to pending with a fresh retry schedule.")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Every dead letter (of --destination, if given).") var all = false
        @Option(name: .customLong("id"), parsing: .upToNextOption, help: "Dead-letter ids (from `relay dlq list`).") var ids: [Int64] = []
        @Option(help: "Only this destination.") var destination: String?

        func validate() throws {
            guard all != !ids.isEmpty else { throw ValidationError("give either --all or --id ID...") }
        }

        func run() async throws {
            let moved = try await options.withStore { _, store in
                try await store.replay(ids: all ? nil : ids, destination: destination, nowMilliseconds: Timestamp.nowMilliseconds())
            }
            print("replayed \(moved) dead letter\(moved == 1 ? "" : "s"); a running relay sends them within about a second")
        }
    }
}
