import RelayCore

/// The top level of an admin request body, read strictly: a JSON object whose keys are each given once and none of
/// them `null`. JSON leaves both open, and each has a lenient reading that does too much: with a duplicate, which one
/// wins depends on the parser (`{"all": true, "destination": "a", "destination": "b"}`), and an explicit null read as
/// "absent" turns `"destination": null` into "every destination". Either is a 400 and nothing changes. (relay's
/// ``JSONParser`` refuses duplicate member names at every depth; the reason it gives is passed on.)
enum StrictJSONObject {
    /// The object `body` holds; a 400 that says what is wrong (with `usage`) otherwise.
    static func parse(_ body: [UInt8], usage: String) throws(APIError) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw .invalidRequest("the body must be a JSON object (\(error.reason.prefix(120))): \(usage)")
        }
        guard let object = value.objectValue else { throw .invalidRequest("the body must be a JSON object: \(usage)") }
        for member in object.members {
            if member.value == .null { throw .invalidRequest("\"\(member.key.prefix(64))\" is null; leave the key out instead") }
        }
        return object
    }
}
