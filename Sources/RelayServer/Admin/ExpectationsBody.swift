import RelayCore
import RelayStore

/// The body of `POST /admin/expectations` (SPEC section 10a):
/// `{"source": "<source id>", "expectations": [{"key": "<delivery data>", "within": "24h"}, ...]}`.
///
/// Strict, like the replay body: an unknown key, a wrong type, an empty key or a `within` that is not a duration is a
/// 400 naming what is wrong, and nothing is stored.
public enum ExpectationsBody {
    /// The most expectations one request registers.
    public static let maxExpectations = 1_000
    /// `within` when neither the expectation nor its source's `expect_receipt` gives one.
    public static let defaultWithin: Duration = .seconds(86_400)
    /// The longest `within`, as for `expect_receipt`.
    public static let maxWithin: Duration = .seconds(30 * 86_400)

    static let usage = #"the body is {"source": "<source id>", "expectations": [{"key": "<delivery data>", "within": "24h"}, ...]}"#

    /// The expectations `body` asks for, for a source of `config`.
    public static func parse(_ body: [UInt8], config: RelayConfig, nowMilliseconds: Int64) throws(APIError) -> ExpectationRequest {
        guard let root = (try? JSONParser.parse(body))?.objectValue else { throw .invalidRequest("the body must be a JSON object: \(usage)") }
        if let unknown = root.members.map(\.key).first(where: { !["source", "expectations"].contains($0) }) {
            throw .invalidRequest("unknown key \"\(unknown.prefix(64))\"; \(usage)")
        }
        guard let sourceID = root["source"]?.stringValue else { throw .invalidRequest("\"source\" must be a source id (a string); \(usage)") }
        let source = try Self.source(sourceID, in: config)
        let fallback = source.expectReceipt ?? defaultWithin
        try Self.within(fallback, path: "sources.\(source.id).expect_receipt")
        guard let items = root["expectations"]?.arrayValue else {
            throw .invalidRequest("\"expectations\" must be a list of {\"key\": ..., \"within\": ...}; \(usage)")
        }
        guard !items.isEmpty else { throw .invalidRequest("\"expectations\" must not be empty") }
        guard items.count <= maxExpectations else {
            throw .invalidRequest("at most \(maxExpectations) expectations per request, got \(items.count); send them in batches")
        }
        var expectations: [ExpectationRequest.Expectation] = []
        expectations.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let path = "expectations[\(index)]"
            guard let object = item.objectValue else { throw .invalidRequest("\(path) must be an object {\"key\": ..., \"within\": ...}") }
            if let unknown = object.members.map(\.key).first(where: { !["key", "within"].contains($0) }) {
                throw .invalidRequest("\(path): unknown key \"\(unknown.prefix(64))\" (expected key and within)")
            }
            guard let key = object["key"]?.stringValue else { throw .invalidRequest("\(path).key must be a string (the delivery data the provider will echo)") }
            guard !key.isEmpty else { throw .invalidRequest("\(path).key must not be empty") }
            // The key is the delivery data a provider echoes: it meets the rules of a provider id (SPEC 13).
            if let problem = ProviderValue.problem(key) { throw .invalidRequest("\(path).key \(problem)") }
            var within = fallback
            if let value = object["within"] {
                guard let text = value.stringValue, let parsed = DurationText.parse(text) else {
                    throw .invalidRequest("\(path).within must be a duration such as \"24h\" or \"90m\"")
                }
                try Self.within(parsed, path: "\(path).within")
                within = parsed
            }
            expectations.append(.init(key: key, withinMilliseconds: within.milliseconds))
        }
        return ExpectationRequest(sourceID: source.id, nowMilliseconds: nowMilliseconds,
                                  windowMilliseconds: config.messageWindow.milliseconds, expectations: expectations)
    }

    /// The source expectations are registered for: configured, and of a provider that takes them.
    static func source(_ id: String, in config: RelayConfig) throws(APIError) -> SourceConfig {
        guard let source = config.source(id) else { throw .invalidRequest("unknown source \"\(id.prefix(64))\"") }
        guard source.provider.acceptsExpectations else {
            let takers = config.sources.filter(\.provider.acceptsExpectations).map(\.id)
            throw .invalidRequest("source \"\(id)\" (\(source.provider.displayName)) reports every outcome itself; "
                + "expectations are for " + (takers.isEmpty ? "sources of providers that do not (none is configured)" : takers.joined(separator: ", ")))
        }
        guard source.keepsLedger else {
            throw .invalidRequest("source \"\(id)\" keeps no delivery ledger: set sources.\(id).expect_receipt (the default wait, e.g. 24h) "
                + "so its delivery events are kept and expectations can be met")
        }
        return source
    }

    static func within(_ value: Duration, path: String) throws(APIError) {
        guard value > .zero, value <= maxWithin else {
            throw .invalidRequest("\(path) must be more than 0 and at most \(DurationText.format(maxWithin))")
        }
    }
}

/// `{"registered": n, "already_met": m}`.
struct ExpectationsResult: Encodable {
    var registered: Int
    var alreadyMet: Int

    enum CodingKeys: String, CodingKey { case registered, alreadyMet = "already_met" }
}
