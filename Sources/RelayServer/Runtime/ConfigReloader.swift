import Logging
import RelayCore
import ServiceLifecycle
import UnixSignals

/// Reloads `routes.yaml` on SIGHUP: a valid file takes effect for new requests and jobs; an invalid one is
/// logged and the configuration in force stays.
public struct ConfigReloader: Service {
    let path: String
    let config: LiveConfig
    let logger: Logger

    public init(path: String, config: LiveConfig, logger: Logger) {
        self.path = path
        self.config = config
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() { reload() }
    }

    /// Reads the file again and swaps it in when valid; returns whether it did.
    @discardableResult
    public func reload() -> Bool {
        let current = config.current
        do {
            let next = try ConfigLoader.load(path: path)
            var problems: [String] = []
            if next.store != current.store { problems.append("store: changing the store needs a restart") }
            if next.listen != current.listen { problems.append("listen: changing a listener needs a restart") }
            if next.adminListen != current.adminListen { problems.append("admin.listen: changing a listener needs a restart") }
            guard problems.isEmpty else {
                for problem in problems { logger.error("config reload rejected", metadata: ["problem": .string(problem)]) }
                return false
            }
            config.replace(with: next)
            logger.info("config reloaded", metadata: [
                "sources": .stringConvertible(next.sources.count), "destinations": .stringConvertible(next.destinations.count),
                "routes": .stringConvertible(next.routes.count),
            ])
            return true
        } catch {
            for issue in error.issues {
                logger.error("config reload rejected", metadata: ["problem": .string(ConfigError(file: error.file, issues: [issue]).description)])
            }
            return false
        }
    }
}
