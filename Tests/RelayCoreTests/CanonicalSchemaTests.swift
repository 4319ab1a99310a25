import Foundation
import RelayCore
import RelayTestSupport
import Testing

/// Every normalized event validates against the shipped JSON Schema, checked by an independent validator
/// (Python's `jsonschema`, Draft 2020-12); without it those tests are skipped, saying so.
@Suite("Canonical event schema")
struct CanonicalSchemaTests {
    static var schemaURL: URL { TestFiles.repositoryRoot().appendingPathComponent("schema/canonical-event.schema.json") }

    static let validator = """
        import json, sys
        from jsonschema import Draft202012Validator
        schema = json.load(open(sys.argv[1]))
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        failures = 0
        for number, line in enumerate(open(sys.argv[2]), 1):
            for error in validator.iter_errors(json.loads(line)):
                failures += 1
                print(f"event {number}: {error.json_path}: {error.message}")
        print(f"{failures} failures")
        sys.exit(1 if failures else 0)
        """

    /// Validates one event per line; returns the exit status and what the validator printed.
    static func validate(_ events: [[UInt8]]) throws -> (status: Int32, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("events.jsonl")
        try Data(events.flatMap { $0 + [0x0A] }).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", validator, schemaURL.path, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func allNormalizedEvents() throws -> [IncomingEvent] {
        var events: [IncomingEvent] = []
        for file in try TestFiles.fixtureNames(in: "8x8") {
            events += try Normalize.events(.eightByEight, try TestFiles.fixture(file), sourceID: "eightxeight")
        }
        for file in try TestFiles.fixtureNames(in: "line") {
            events += try Normalize.events(.line, try TestFiles.fixture(file), sourceID: "line")
        }
        events += try Normalize.events(.line, LINESamples.allTypesBody, sourceID: "line")
        events += try Normalize.events(.line, #"{"events":[{"type":"follow","timestamp":1,"source":{"type":"user","userId":"U1"}}]}"#)
        return events
    }

    @Test func shippedSchemaMatchesTheEmbeddedText() throws {
        let file = try String(contentsOf: Self.schemaURL, encoding: .utf8)
        #expect(file.trimmingCharacters(in: .newlines) == CanonicalEventSchema.text.trimmingCharacters(in: .newlines))
        #expect(try JSONParser.parse(CanonicalEventSchema.text).objectValue != nil)
    }

    static let validatorMissing = Comment(rawValue: OptionalTool.pythonJSONSchema.skipReason)

    @Test(.enabled(if: OptionalTool.pythonJSONSchema.isAvailable, validatorMissing))
    func everyNormalizedEventIsValid() throws {
        let events = try Self.allNormalizedEvents()
        #expect(events.count == 9 + 2 + LINESamples.types.count + 1)
        let result = try Self.validate(events.map(\.canonical))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("0 failures"))
    }

    /// The check must be able to fail: broken events are refused.
    @Test(.enabled(if: OptionalTool.pythonJSONSchema.isAvailable, validatorMissing))
    func brokenEventsAreInvalid() throws {
        let good = try #require(try Self.allNormalizedEvents().first)
        var json = try Normalize.canonical(good)
        json.members.removeAll { $0.key == "id" }
        let withoutID = JSONWriter.serialize(.object(json))

        var badTime = try Normalize.canonical(good)
        badTime.members = badTime.members.map { $0.key == "time" ? .init(key: "time", value: .string("2025-05-05T09:15:57Z")) : $0 }
        let secondsOnly = JSONWriter.serialize(.object(badTime))

        let goodOnly = try Self.validate([good.canonical])
        #expect(goodOnly.status == 0, "\(goodOnly.output)")
        let result = try Self.validate([withoutID, good.canonical, secondsOnly])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("event 1"))
        #expect(result.output.contains("'id' is a required property"))
        #expect(!result.output.contains("event 2"))
        #expect(result.output.contains("event 3: $.time"))
        #expect(result.output.contains("2 failures"))
    }
}
