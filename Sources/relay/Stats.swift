import ArgumentParser
import Foundation
import RelayCore
import RelayServer

/// `relay stats`: per destination pending, in flight, dead; dedup keys; oldest pending age.
struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show job counts per destination and the dedup keys held.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let (stats, states) = try await options.withStore { _, store in
            (try await store.stats(nowMilliseconds: Timestamp.nowMilliseconds()), try await DestinationControls(store: store).states())
        }
        if json {
            print(AdminJSON.text(StatsBody(stats, states: states)))
            return
        }
        let rows = stats.destinations.map { d in
            [d.destination, String(d.pending), String(d.held), String(d.inFlight), String(d.dead), String(d.delivered),
             d.oldestPendingSeconds.map { String(format: "%.1fs", $0) } ?? "-",
             states[d.destination].map { "paused since " + Timestamp.format(epochMilliseconds: $0.sinceMilliseconds) } ?? "-"]
        }
        print(Table.render(header: ["DESTINATION", "PENDING", "HELD", "IN FLIGHT", "DEAD", "DELIVERED", "OLDEST PENDING", "PAUSED"], rows: rows))
        print("events stored: \(stats.events)   dedup keys held: \(stats.dedupKeys)")
    }
}

/// Plain aligned columns for the terminal.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
