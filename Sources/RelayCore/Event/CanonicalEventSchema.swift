/// The JSON Schema of the canonical event; `schema/canonical-event.schema.json` in the repository is the same text
/// (a test keeps them equal).
public enum CanonicalEventSchema {
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
    "source": { "type": "string", "pattern": "^/(line|8x8)/.+$" },
    "type": {
      "type": "string",
      "pattern": "^(delivery\\.[a-z0-9_]+|message\\.received|message\\.echo|line\\..+|8x8\\..+)$"
    },
    "time": { "$ref": "#/$defs/timestamp" },
    "subject": { "type": "string", "minLength": 1 },
    "datacontenttype": { "const": "application/json" },
    "data": {
      "type": "object",
      "required": ["provider", "source_id", "redelivery", "received_at", "raw"],
      "additionalProperties": false,
      "properties": {
        "provider": { "enum": ["line", "8x8"] },
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
        "received_at": { "$ref": "#/$defs/timestamp" },
        "raw": { "type": "object", "description": "The provider's event object, verbatim." }
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
}
