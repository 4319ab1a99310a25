import ArgumentParser
import RelayCore
import RelayServer

/// The `relay` executable: one subcommand per file.
@main
enum RelayMain {
    static func main() async {
        EventLoopTaskExecutor.takeOverGlobalExecutor()
        await Relay.main()
    }
}

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "A webhook edge for \(ProviderRegistry.all.map(\.displayName).joined(separator: " and ")): verify, deduplicate, store, forward.",
        subcommands: [Serve.self, Check.self, Normalize.self, Route.self, Schema.self, Stats.self, DeadLetters.self, Messages.self, Expect.self, Destinations.self, Simulate.self, Sink.self],
        defaultSubcommand: Serve.self)
}
