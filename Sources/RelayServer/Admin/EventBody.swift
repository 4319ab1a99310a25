import RelayCore
import RelayStore

/// `GET /admin/events/<source-id>/<event-id>`: the canonical event as stored, and per destination its job's state,
/// attempts, next attempt, last status, error and response snippet.
enum EventBody {
    static func json(_ detail: EventDetail) -> JSONValue {
        var object = JSONObject()
        object.append("source_id", .string(detail.sourceID))
        object.append("event_id", .string(detail.eventID))
        object.append("type", .string(detail.type))
        object.append("received_at", .string(Timestamp.format(epochMilliseconds: detail.receivedAtMilliseconds)))
        object.append("event", (try? JSONParser.parse(detail.canonical)) ?? .null)
        object.append("deliveries", .array(detail.jobs.map { job in
            var j = JSONObject()
            j.append("destination", .string(job.destination))
            j.append("job_id", .integer(job.id))
            j.append("state", .string(job.state))
            j.append("attempts", .integer(job.attempts))
            j.append("next_attempt_at", job.state == "pending" ? .string(Timestamp.format(epochMilliseconds: job.nextAttemptAtMilliseconds)) : .null)
            j.append("updated_at", .string(Timestamp.format(epochMilliseconds: job.updatedAtMilliseconds)))
            j.append("last_status", job.lastStatus.map { .integer($0) } ?? .null)
            j.append("last_error", job.lastError.map(JSONValue.string) ?? .null)
            j.append("last_response", job.lastResponse.map(JSONValue.string) ?? .null)
            return .object(j)
        }))
        return .object(object)
    }
}
