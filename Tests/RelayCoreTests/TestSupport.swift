import Foundation
import RelayCore
import Testing

/// Where the repository and its fixtures are, found from this file's path.
enum TestFiles {
    /// The directory holding `Package.swift`.
    static func repositoryRoot(from file: String = #filePath) -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        fatalError("no Package.swift above \(file)")
    }

    /// `<root>/Tests/Fixtures`: the providers' documented samples, kept in the repository so a fresh clone tests itself.
    static var fixtures: URL {
        repositoryRoot().appendingPathComponent("Tests/Fixtures")
    }

    /// The bytes of `fixtures/<name>`, e.g. `line/delivery.json`.
    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    /// The `.json` files in `fixtures/<folder>`, sorted.
    static func fixtureNames(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(folder).path)
            .filter { $0.hasSuffix(".json") }.sorted().map { "\(folder)/\($0)" }
    }
}

/// Runs the real providers and reads back the canonical events they produce.
enum Normalize {
    /// 2026-11-24T09:00:00.123Z, the arrival time used throughout.
    static let receivedAt: Int64 = 1_795_510_800_123
    static let receivedAtText = "2026-11-24T09:00:00.123Z"

    static func events(_ kind: ProviderKind, _ body: [UInt8], sourceID: String) throws -> [IncomingEvent] {
        try ProviderRegistry.provider(for: kind)!.events(from: body, sourceID: sourceID, receivedAtMilliseconds: receivedAt)
    }

    static func events(_ kind: ProviderKind, _ text: String, sourceID: String = "src") throws -> [IncomingEvent] {
        try events(kind, Array(text.utf8), sourceID: sourceID)
    }

    /// The canonical body of `event`, parsed.
    static func canonical(_ event: IncomingEvent) throws -> JSONObject {
        try #require(try JSONParser.parse(event.canonical).objectValue)
    }

    /// The payload error thrown for `text`, or nil when it normalizes fine.
    static func payloadError(_ kind: ProviderKind, _ text: String) -> PayloadError? {
        do {
            _ = try ProviderRegistry.provider(for: kind)!.events(
                from: Array(text.utf8), sourceID: "src", receivedAtMilliseconds: receivedAt)
            return nil
        } catch {
            return error
        }
    }
}

/// JSON comparison helpers.
enum JSONCheck {
    /// Equal as JSON data: object member order ignored, number literals compared as text.
    static func sameData(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (.object(let x)?, .object(let y)?):
            guard x.members.count == y.members.count, Set(x.members.map(\.key)).count == x.members.count else { return false }
            return x.members.allSatisfy { sameData($0.value, y[$0.key]) }
        case (.array(let x)?, .array(let y)?):
            return x.count == y.count && zip(x, y).allSatisfy { sameData($0, $1) }
        default:
            return a == b
        }
    }

    /// Checks a canonical event key by key against `expected` (JSON text without `data.received_at`
    /// and `data.raw`), then checks `received_at` and that `raw` is exactly `raw`.
    static func expectCanonical(
        _ actual: JSONObject, _ expectedText: String, raw: JSONValue, label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let expected = try #require(try JSONParser.parse(expectedText).objectValue, sourceLocation: sourceLocation)
        var expectedTop = Set(expected.members.map(\.key))
        expectedTop.formUnion(["specversion", "datacontenttype"])
        #expect(Set(actual.members.map(\.key)) == expectedTop, "\(label): top-level keys", sourceLocation: sourceLocation)
        #expect(actual["specversion"] == .string("1.0"), "\(label): specversion", sourceLocation: sourceLocation)
        #expect(actual["datacontenttype"] == .string("application/json"), "\(label)", sourceLocation: sourceLocation)
        for member in expected.members where member.key != "data" {
            #expect(actual[member.key] == member.value, "\(label): \(member.key)", sourceLocation: sourceLocation)
        }
        let data = try #require(actual["data"]?.objectValue, "\(label): data", sourceLocation: sourceLocation)
        let expectedData = try #require(expected["data"]?.objectValue, sourceLocation: sourceLocation)
        let expectedKeys = Set(expectedData.members.map(\.key)).union(["received_at", "raw"])
        #expect(Set(data.members.map(\.key)) == expectedKeys, "\(label): data keys", sourceLocation: sourceLocation)
        for member in expectedData.members {
            #expect(sameData(data[member.key], member.value),
                    "\(label): data.\(member.key) is \(String(describing: data[member.key]))", sourceLocation: sourceLocation)
        }
        #expect(data["received_at"] == .string(Normalize.receivedAtText), "\(label): received_at", sourceLocation: sourceLocation)
        #expect(data["raw"] == raw, "\(label): raw is the provider's event verbatim", sourceLocation: sourceLocation)
    }
}

/// One LINE webhook body with one event of every documented type, plus an unknown future one.
enum LINESamples {
    static let destination = "U8e742f61d673b39c7fff3cecb7536ef0"
    static let user = "U4af4980629b0a3f5c1d2e3f4a5b6c7d8"

    /// (LINE type, canonical type) in body order.
    static let types: [(line: String, canonical: String)] = [
        ("message", "message.received"), ("follow", "line.follow"), ("unfollow", "line.unfollow"),
        ("join", "line.join"), ("leave", "line.leave"), ("memberJoined", "line.memberJoined"),
        ("memberLeft", "line.memberLeft"), ("postback", "line.postback"),
        ("videoPlayComplete", "line.videoPlayComplete"), ("beacon", "line.beacon"),
        ("accountLink", "line.accountLink"), ("things", "line.things"), ("unsend", "line.unsend"),
        ("membership", "line.membership"), ("delivery", "delivery.delivered"), ("futureThing", "line.futureThing"),
    ]

    static func context(_ id: String, _ timestamp: Int) -> String {
        "\"webhookEventId\":\"\(id)\",\"deliveryContext\":{\"isRedelivery\":false},\"timestamp\":\(timestamp),\"mode\":\"active\""
    }

    static let userSource = "{\"type\":\"user\",\"userId\":\"\(user)\"}"
    static let groupSource = "{\"type\":\"group\",\"groupId\":\"Ca56f94637c2b1d0e9f8a7b6c5d4e3f2a\",\"userId\":\"\(user)\"}"

    static let allTypesBody = """
        {"destination":"\(destination)","events":[
        {"type":"message","message":{"type":"text","id":"468789577898262530","quoteToken":"q3Plxr4AgKd",
          "text":"Hello, world! (love) \\u00e9 😀","emojis":[{"index":14,"length":6,"productId":"5ac1bfd5040ab15980c9b435","emojiId":"001"}],
          "mention":{"mentionees":[{"index":0,"length":4,"type":"user","userId":"\(user)","isSelf":false}]}},
         \(context("01H810YECXQQZ37VAXPF6H9E6T", 1692251666727)),"source":\(groupSource),"replyToken":"38ef843bde154d9b91c21320ffd17a0f"},
        {"type":"follow","follow":{"isUnblocked":false},\(context("01H810YECXQQZ37VAXPF6H9E61", 1692251666728)),
         "source":\(userSource),"replyToken":"85cbe770fa8b4f45bbe077b1d4be4a36"},
        {"type":"unfollow",\(context("01H810YECXQQZ37VAXPF6H9E62", 1692251666729)),"source":\(userSource)},
        {"type":"join",\(context("01H810YECXQQZ37VAXPF6H9E63", 1692251666730)),
         "source":{"type":"group","groupId":"C4af4980629b0a3f5c1d2e3f4a5b6c7d8"},"replyToken":"0f3779fba3b349968c5d07db31eab56f"},
        {"type":"leave",\(context("01H810YECXQQZ37VAXPF6H9E64", 1692251666731)),
         "source":{"type":"group","groupId":"C4af4980629b0a3f5c1d2e3f4a5b6c7d8"}},
        {"type":"memberJoined","joined":{"members":[{"type":"user","userId":"\(user)"},{"type":"user","userId":"U91eeaf62d9e0f1a2b3c4d5e6f7a8b9c0"}]},
         \(context("01H810YECXQQZ37VAXPF6H9E65", 1692251666732)),"source":{"type":"group","groupId":"C4af4980629b0a3f5c1d2e3f4a5b6c7d8"},
         "replyToken":"0f3779fba3b349968c5d07db31eabf65"},
        {"type":"memberLeft","left":{"members":[{"type":"user","userId":"U91eeaf62d9e0f1a2b3c4d5e6f7a8b9c0"}]},
         \(context("01H810YECXQQZ37VAXPF6H9E66", 1692251666733)),"source":{"type":"group","groupId":"C4af4980629b0a3f5c1d2e3f4a5b6c7d8"}},
        {"type":"postback","postback":{"data":"action=buy&itemid=111","params":{"datetime":"2017-12-25T01:00"}},
         \(context("01H810YECXQQZ37VAXPF6H9E67", 1692251666734)),"source":\(userSource),"replyToken":"b60d432864f44d079f6d8efe86cf404b"},
        {"type":"videoPlayComplete","videoPlayComplete":{"trackingId":"track-id"},
         \(context("01H810YECXQQZ37VAXPF6H9E68", 1692251666735)),"source":\(userSource),"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"},
        {"type":"beacon","beacon":{"hwid":"d41d8cd98f","type":"enter","dm":"1234567890abcdef"},
         \(context("01H810YECXQQZ37VAXPF6H9E69", 1692251666736)),"source":\(userSource),"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTB"},
        {"type":"accountLink","link":{"result":"ok","nonce":"xxxxxxxxxxxxxxx"},
         \(context("01H810YECXQQZ37VAXPF6H9E6A", 1692251666737)),"source":\(userSource),"replyToken":"b60d432864f44d079f6d8efe86cf404c"},
        {"type":"things","things":{"deviceId":"t2016000000000000000000000000","type":"link"},
         \(context("01H810YECXQQZ37VAXPF6H9E6B", 1692251666738)),"source":\(userSource),"replyToken":"b60d432864f44d079f6d8efe86cf404d"},
        {"type":"unsend","unsend":{"messageId":"325708"},
         \(context("01H810YECXQQZ37VAXPF6H9E6C", 1692251666739)),"source":\(groupSource)},
        {"type":"membership","membership":{"type":"joined","membershipId":3189},
         \(context("01H810YECXQQZ37VAXPF6H9E6D", 1692251666740)),"source":\(userSource),"replyToken":"3a6ba24ec3384d9b9bd4e3aa8a2bdf2c"},
        {"type":"delivery","delivery":{"data":"68df277462529930889fab80ecffdc0883906320591df93c25efc08300410fc2"},
         \(context("01H810YECXQQZ37VAXPF6H9E6E", 1692251666741))},
        {"type":"futureThing","futureThing":{"alpha":{"beta":[1,2.50,{"gamma":null,"delta":1e-7}]},"newFlag":true},
         "someNewTopLevel":"x",\(context("01H810YECXQQZ37VAXPF6H9E6F", 1692251666742)),"source":\(userSource)}
        ]}
        """
}

/// The provider settings the tests look at, read through the providers' own types (the configs hold them opaquely).
extension SourceConfig {
    var channelSecrets: [String] { settings(as: LINESourceSettings.self)?.channelSecrets ?? [] }
    var auth: EightByEightAuth? { settings(as: EightByEightSourceSettings.self)?.auth }
}

extension DestinationConfig {
    var lineChannelSecret: String? { providerSettings(LINEDestinationSettings.self)?.channelSecret }
}
