import ArgumentParser
import NIOCore
import NIOPosix
import RelayCore

/// The `relay` executable: one subcommand per file.
@main
enum RelayMain {
    static func main() async {
        // Swift Concurrency's tasks then run on NIO's event-loop threads: no hop between the two thread pools
        // (and their wake-ups) for every request received and every request forwarded.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await Relay.main()
    }
}

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "A webhook edge for \(ProviderRegistry.all.map(\.displayName).joined(separator: " and ")): verify, deduplicate, store, forward.",
        subcommands: [Serve.self, Check.self, Normalize.self, Schema.self, Stats.self, DeadLetters.self, Simulate.self, Sink.self],
        defaultSubcommand: Serve.self)
}
