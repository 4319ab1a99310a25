import ArgumentParser

/// The `relay` executable: one subcommand per file.
@main
struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "A webhook edge for LINE and 8x8: verify, deduplicate, store, forward.",
        subcommands: [Serve.self, Check.self, Normalize.self, Schema.self, Stats.self, DeadLetters.self, Simulate.self, Sink.self],
        defaultSubcommand: Serve.self)
}
