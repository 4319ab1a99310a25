import RelayCore
import RelayStore

/// The JSON shapes of `stats` and dead letters, shared by the admin API and the CLI's `--json`.
public enum AdminJSON {
    public static func stats(_ stats: StoreStats) -> JSONValue {
        var object = JSONObject()
        object.append("destinations", .array(stats.destinations.map { d in
            var o = JSONObject()
            o.append("destination", .string(d.destination))
            o.append("pending", .integer(d.pending))
            o.append("in_flight", .integer(d.inFlight))
            o.append("dead", .integer(d.dead))
            o.append("delivered", .integer(d.delivered))
            o.append("oldest_pending_seconds", d.oldestPendingSeconds.map { .number(String(format3($0))) } ?? .null)
            return .object(o)
        }))
        object.append("dedup_keys", .integer(stats.dedupKeys))
        object.append("events", .integer(stats.events))
        return .object(object)
    }

    public static func deadLetters(_ letters: [DeadLetter]) -> JSONValue {
        .array(letters.map { d in
            var o = JSONObject()
            o.append("id", .integer(d.id))
            o.append("destination", .string(d.destination))
            o.append("event_id", .string(d.eventID))
            o.append("source_id", .string(d.sourceID))
            o.append("type", .string(d.type))
            o.append("attempts", .integer(d.attempts))
            o.append("last_status", d.lastStatus.map { .integer($0) } ?? .null)
            o.append("last_error", d.lastError.map(JSONValue.string) ?? .null)
            o.append("last_response", d.lastResponse.map(JSONValue.string) ?? .null)
            o.append("received_at", .string(Timestamp.format(epochMilliseconds: d.receivedAtMilliseconds)))
            o.append("failed_at", .string(Timestamp.format(epochMilliseconds: d.failedAtMilliseconds)))
            return .object(o)
        })
    }

    static func format3(_ value: Double) -> String {
        let ms = (value * 1000).rounded()
        return String(Int64(ms) / 1000) + "." + String(String(Int64(ms) % 1000 + 1000).dropFirst())
    }
}
