import RelayCore
import RelayStore

/// `GET /admin/events/<source-id>/<event-id>`: the canonical event as stored, and per destination its job's state,
/// attempts, next attempt, last status, error and response snippet, and every attempt it made (SPEC section 17).
enum EventBody {
    /// One attempt: `{"at", "duration_ms", "status", "error", "response", "outcome"}`.
    static func attempt(_ attempt: StoredAttempt) -> JSONValue {
        var a = JSONObject()
        a.append("at", .string(Timestamp.format(epochMilliseconds: attempt.startedAtMilliseconds)))
        a.append("duration_ms", .integer(attempt.durationMilliseconds))
        a.append("status", attempt.status.map { .integer($0) } ?? .null)
        a.append("error", attempt.error.map(JSONValue.string) ?? .null)
        a.append("response", attempt.response.map(JSONValue.string) ?? .null)
        a.append("outcome", .string(attempt.outcome))
        return .object(a)
    }

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
            j.append("history", .array(job.history.map(attempt)))
            return .object(j)
        }))
        return .object(object)
    }
}
