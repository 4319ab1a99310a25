/// The JSON Schema of the canonical event; `schema/canonical-event.schema.json` in the repository is the same text
/// (a test keeps them equal). The provider names in it come from ``ProviderRegistry``.
public enum CanonicalEventSchema {
    /// The schema text.
    public static let text = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://relay.dev/schema/canonical-event.schema.json",
  "title": "relay canonical event",
  "description": "A CloudEvents 1.0 event in structured JSON mode, one per forwarded request (Content-Type: application/cloudevents+json).",
  "type": "object",
  "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "data"],
  "additionalProperties": false,
  "properties": {
    "specversion": { "const": "1.0" },
    "id": { "type": "string", "minLength": 1, "description": "The dedup key: stable across retries and replays." },
    "source": { "type": "string", "pattern": "^/(\#(sourceAlternatives))/.+$" },
    "type": {
      "type": "string",
      "pattern": "^(delivery\\.[a-z0-9_]+|message\\.received|message\\.echo|\#(typeAlternatives))$"
    },
    "time": { "$ref": "#/$defs/timestamp" },
    "subject": { "type": "string", "minLength": 1 },
    "datacontenttype": { "const": "application/json" },
    "data": {
      "type": "object",
      "required": ["provider", "source_id", "redelivery", "received_at", "raw"],
      "additionalProperties": false,
      "properties": {
        "provider": { "enum": [\#(providerEnum)] },
        "source_id": { "type": "string", "minLength": 1 },
        "status": { "type": "string", "pattern": "^[a-z0-9_]+$", "description": "The provider's state, lower-cased; delivery.* events only." },
        "redelivery": { "type": "boolean" },
        "account": { "type": "string" },
        "channel": { "type": "string", "pattern": "^[a-z0-9_]+$" },
        "recipient": { "$ref": "#/$defs/party" },
        "sender": { "$ref": "#/$defs/party" },
        "user": { "$ref": "#/$defs/party" },
        "message": {
          "type": "object",
          "additionalProperties": false,
          "minProperties": 1,
          "properties": {
            "id": { "type": "string" },
            "client_message_id": { "type": "string" },
            "batch_id": { "type": "string" },
            "client_batch_id": { "type": "string" }
          }
        },
        "error": {
          "type": "object",
          "additionalProperties": false,
          "minProperties": 1,
          "properties": {
            "code": { "type": ["integer", "string"] },
            "message": { "type": "string" },
            "provider_code": { "type": ["string", "integer"] }
          }
        },
        "detail": { "type": "string" },
        "pricing_category": { "type": "string" },
        "progress": {
          "type": "object",
          "description": "Status events of a message in the receipt ledger: whether this event advanced the message, and the message's status before it.",
          "required": ["advanced", "previous"],
          "additionalProperties": false,
          "properties": {
            "advanced": { "type": "boolean" },
            "previous": { "type": ["string", "null"], "pattern": "^[a-z0-9_]+$" }
          }
        },
        "expected_within_seconds": {
          "type": "integer",
          "minimum": 0,
          "description": "delivery.overdue only: how long after the message's first event (or its registration) a receipt was expected."
        },
        "reason": { "type": "string", "description": "delivery.overdue only: what the missing receipt means, when the provider documents it." },
        "received_at": { "$ref": "#/$defs/timestamp" },
        "raw": {
          "type": ["object", "null"],
          "description": "The provider's event object, verbatim; null for relay's own delivery.overdue."
        }
      }
    }
  },
  "$defs": {
    "timestamp": {
      "type": "string",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"
    },
    "party": {
      "type": "object",
      "additionalProperties": false,
      "minProperties": 1,
      "properties": {
        "phone_hash": { "type": "string", "pattern": "^[0-9a-fA-F]{64}$" },
        "delivery_tag": { "type": "string" },
        "msisdn": { "type": "string" },
        "channel_user_id": { "type": "string" }
      }
    }
  }
}
"""#

    private static var names: [String] { ProviderRegistry.all.map(\.kind.rawValue) }

    /// The provider names as regular-expression alternatives (`a|b`).
    private static var sourceAlternatives: String { names.map(pattern).joined(separator: "|") }

    /// The provider-prefixed types of events relay has no canonical name for (`a\\..+|b\\..+` in JSON).
    private static var typeAlternatives: String { names.map { pattern($0) + #"\\..+"# }.joined(separator: "|") }

    /// The provider names as a JSON enum (`"a", "b"`).
    private static var providerEnum: String { names.map { "\"\($0)\"" }.joined(separator: ", ") }

    /// A name as a regular expression inside a JSON string: metacharacters escaped, with the backslash doubled.
    private static func pattern(_ name: String) -> String {
        name.map { #"\^$.|?*+()[]{}"#.contains($0) ? #"\\"# + String($0) : String($0) }.joined()
    }
}
