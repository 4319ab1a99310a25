import ArgumentParser
import RelayCore

/// `relay check`: every error with its key path and line; exit 1 on any.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate routes.yaml and print a summary.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        for warning in config.warnings {
            printError("warning: " + ConfigError(file: options.path, issues: [warning]).description)
        }
        print(config.summary())
        print("\(options.path): OK")
    }
}
