import Foundation
import Logging
import Metrics
import RelayCore
import RelayStore

/// Housekeeping (dedup expiry, pruning, the job gauges) runs on one instance at a time: before each pass an instance
/// takes, or keeps, the store's `housekeeping` turn, which lapses when its holder stops renewing it (a stopped or dead
/// instance), so another takes over. On SQLite, where one process is the usual case, it is the same query.
public struct HousekeepingTurn: Sendable {
    let store: any Store
    /// Who this instance is in the store's `turns` table: host, process id and a random part.
    public let holder: String
    private let gauge = Gauge(label: "relay_housekeeping_turn")

    public init(store: any Store, holder: String = HousekeepingTurn.newHolder()) {
        self.store = store
        self.holder = holder
    }

    /// Whether this instance has the turn for the next `hold` (taking it when free); false when the store cannot
    /// say (unreachable), so no pass runs then.
    public func take(for hold: Duration) async -> Bool {
        let mine = (try? await store.takeTurn("housekeeping", holder: holder, nowMilliseconds: Timestamp.nowMilliseconds(), holdMilliseconds: hold.milliseconds)) ?? false
        gauge.record(mine ? 1 : 0)
        return mine
    }

    public static func newHolder() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UInt32.random(in: 0...UInt32.max))"
    }
}
