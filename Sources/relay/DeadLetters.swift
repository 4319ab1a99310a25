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
        @Option(help: "With --all: only those that failed at or after this RFC 3339 time.") var since: String?
        @Option(help: "With --all: only those that failed before this RFC 3339 time.") var until: String?
        @Option(help: "With --all: only events of this canonical type (a glob such as \"delivery.*\").") var type: String?

        func validate() throws {
            guard all != !ids.isEmpty else { throw ValidationError("give either --all or --id ID...") }
            if !all && (since != nil || until != nil || type != nil) { throw ValidationError("--since, --until and --type narrow --all") }
            for (name, value) in [("--since", since), ("--until", until)] {
                if let value, Timestamp.parse(value) == nil { throw ValidationError("\(name) must be an RFC 3339 time such as 2026-12-01T09:00:00Z") }
            }
        }

        func run() async throws {
            let request = ReplayRequest(ids: all ? nil : ids, destination: destination, sinceMilliseconds: since.flatMap(Timestamp.parse),
                                        untilMilliseconds: until.flatMap(Timestamp.parse), type: type)
            let moved = try await options.withStore { _, store in
                try await request.apply(to: store, nowMilliseconds: Timestamp.nowMilliseconds())
            }
            print("replayed \(moved) dead letter\(moved == 1 ? "" : "s"); a running relay sends them within about a second")
        }
    }
}
