import ArgumentParser
import RelayCore

/// `relay schema`: the canonical event's JSON Schema.
struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the JSON Schema of the canonical event.")

    func run() {
        print(CanonicalEventSchema.text)
    }
}
