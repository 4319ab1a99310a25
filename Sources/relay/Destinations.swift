import ArgumentParser
import Foundation
import RelayCore
import RelayServer
import RelayStore

/// `relay destinations list|pause|resume` (SPEC section 12), against the store: a running relay (every instance on
/// the store) obeys a pause within half a second.
struct Destinations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List destinations and their state; pause or resume deliveries to one.", subcommands: [List.self, Pause.self, Resume.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each configured destination: paused (until when) or not.")
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let (config, states) = try await options.withStore { config, store in (config, try await DestinationControls(store: store).states()) }
            let bodies = DestinationStateBody.list(config, states)
            if json {
                print(AdminJSON.text(bodies))
                return
            }
            print(Table.render(header: ["DESTINATION", "STATE", "SINCE", "UNTIL"], rows: bodies.map { body in
                [body.destination, body.state ?? "not paused", body.since ?? "-", body.until ?? (body.state == "paused" ? "resumed" : "-")]
            }))
            print("(a circuit is kept by each running instance: its /admin/stats shows open or half_open)")
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop attempts to a destination on every instance; its jobs wait, schedules untouched.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The destination id.") var destination: String
        @Option(help: "End the pause by itself at this RFC 3339 time.") var until: String?

        func run() async throws {
            let (at, behind) = try await options.withStore { config, store -> (Int64?, [String]) in
                try Destinations.check(destination, config)
                var at: Int64?
                if let until {
                    do {
                        at = try DestinationControls.until(until, nowMilliseconds: Timestamp.nowMilliseconds())
                    } catch {
                        throw CommandFailure.exit((error as? APIError)?.message ?? "\(error)")
                    }
                }
                let behind = try await DestinationControls(store: store).pause(destination, untilMilliseconds: at)
                return (at, behind)
            }
            print("paused \(destination)" + (at.map { " until \(Timestamp.format(epochMilliseconds: $0))" } ?? " until resumed"))
            if !behind.isEmpty {
                FileHandle.standardError.write(Data(("relay: warning: not acknowledged within \(DurationText.format(DestinationControls.acknowledgeWithin)) by "
                    + behind.joined(separator: ", ") + "; each stops when it next reads the store (its claims lapse to the others if it never does)\n").utf8))
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a destination's pause; its waiting jobs go out.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The destination id.") var destination: String

        func run() async throws {
            let was = try await options.withStore { config, store in
                try Destinations.check(destination, config)
                return try await DestinationControls(store: store).resume(destination)
            }
            print(was ? "resumed \(destination)" : "\(destination) was not paused")
        }
    }

    static func check(_ destination: String, _ config: RelayConfig) throws {
        guard config.destination(destination) != nil else {
            let known = config.destinations.map(\.id)
            throw CommandFailure.exit("unknown destination \"\(destination)\"" + (known.isEmpty ? "" : " (known: \(known.joined(separator: ", ")))"))
        }
    }
}
