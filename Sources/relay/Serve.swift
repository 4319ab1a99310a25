import ArgumentParser
import Logging
import RelayCore
import RelayServer

/// `relay serve`: the edge itself.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the edge: ingest, dispatcher and admin listeners.")

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default: $RELAY_LOG_LEVEL or info).")
    var logLevel: String?

    @Flag(name: .long, help: "Serve on a non-loopback listen address although a secret is still at its development default (demos in containers only).")
    var allowDevelopmentSecrets = false

    func run() async throws {
        let levelText = logLevel ?? ProcessInfo.processInfo.environment["RELAY_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw CommandFailure.exit("unknown log level \"\(levelText)\" (use trace, debug, info, notice, warning, error or critical)")
        }
        // With tracing on, a line written inside a span carries its `trace_id` and `span_id` (SPEC section 15).
        let traced = TracingSetup.isRequested(ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap({ label, provider in JSONLogHandler(label: label, level: level, metadataProvider: provider) },
                                metadataProvider: traced ? TracingSetup.loggingMetadataProvider : nil)
        let logger = Logger(label: "relay")
        let config = try options.load()
        // The repository's development secrets are public: on a reachable address they would let anyone forge webhooks.
        if !config.developmentSecrets.isEmpty, !config.listen.isLoopback, !allowDevelopmentSecrets {
            throw CommandFailure.exit("refusing to serve on \(config.listen) with development secrets; set "
                + config.developmentSecrets.joined(separator: ", ")
                + " (or listen on 127.0.0.1, or pass --allow-development-secrets for a demo)")
        }
        for warning in config.warnings {
            logger.warning("config warning", metadata: ["problem": .string(ConfigError(file: options.path, issues: [warning]).description)])
        }
        do {
            try await RelayRuntime(configPath: options.path, logger: logger).run(config: config)
        } catch {
            throw CommandFailure.exit("\(error)")
        }
    }
}

import Foundation
