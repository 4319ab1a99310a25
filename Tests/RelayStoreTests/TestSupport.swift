import Foundation
import RelayCore
import RelayStore

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("relay-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of the SQLite file used by a test (inside a subdirectory the store must create).
    var databasePath: String { url.appendingPathComponent("data/relay.db").path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Events and requests as the ingest path builds them.
enum Sample {
    /// 2026-11-24T09:00:00Z.
    static let now: Int64 = 1_795_510_800_000
    static let day: Int64 = 86_400_000

    static func event(_ id: String, type: String = "delivery.delivered") -> IncomingEvent {
        let canonical = #"{"specversion":"1.0","id":"\#(id)","type":"\#(type)"}"#
        let passthrough = #"{"destination":"U1","events":[{"webhookEventId":"\#(id)"}]}"#
        return IncomingEvent(id: id, type: type, eventTime: now - 5_000, redelivery: false,
                             canonical: Array(canonical.utf8), passthrough: Array(passthrough.utf8))
    }

    static func request(
        _ events: [IncomingEvent], source: String = "line", destinations: [String] = ["crm", "bot"],
        keepPassthrough: Bool = false, at time: Int64 = now, expiresAt: Int64? = nil
    ) -> IngestRequest {
        IngestRequest(
            sourceID: source, provider: .line, receivedAtMilliseconds: time,
            dedupExpiresAtMilliseconds: expiresAt ?? time + 7 * day,
            events: events.map { IngestRequest.Event(event: $0, destinations: destinations, keepPassthrough: keepPassthrough) })
    }

    static func request(_ ids: String..., source: String = "line", at time: Int64 = now, expiresAt: Int64? = nil) -> IngestRequest {
        request(ids.map { event($0) }, source: source, at: time, expiresAt: expiresAt)
    }
}

extension StoreStats {
    /// Pending jobs of one destination (0 when it has none).
    func pending(_ destination: String) -> Int {
        destinations.first { $0.destination == destination }?.pending ?? 0
    }
}
