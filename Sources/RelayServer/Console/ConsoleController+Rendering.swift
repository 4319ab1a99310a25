import Foundation
import Hummingbird
import RelayCore

/// Forms in, pages out: reading a form, the dead-letter filter, rendering, links, times and JSON for reading.
extension ConsoleController {
    static func sameToken(_ given: String?, _ expected: String) -> Bool {
        guard let given else { return false }
        return ConstantTime.equals(Array(given.utf8), Array(expected.utf8))
    }

    static func formFields(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 64 << 10)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            if let key = parts.first { fields[decode(key)] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }

    struct Filter {
        var destination: String?
        var sinceMilliseconds: Int64?
        var untilMilliseconds: Int64?
        var type: String?
    }

    static func filter(destination: String?, since: String?, until: String?, type: String?) throws(APIError) -> Filter {
        func time(_ text: String?, _ name: String) throws(APIError) -> Int64? {
            guard let text, !text.isEmpty else { return nil }
            guard let at = Timestamp.parse(text) else { throw .invalidRequest("\(name) must be an RFC 3339 time such as 2026-12-01T09:00:00Z") }
            return at
        }
        return Filter(destination: destination.flatMap { $0.isEmpty ? nil : $0 }, sinceMilliseconds: try time(since, "since"),
                      untilMilliseconds: try time(until, "until"), type: type.flatMap { $0.isEmpty ? nil : $0 })
    }

    func render(_ template: String, _ values: [String: Any], visit: ConsoleVisit?, status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["signedIn"] = visit != nil
        values["canSignOut"] = visit?.canSignOut ?? false
        if let visit { values["csrf"] = values["csrf"] ?? visit.csrf }
        values["footer"] = "relay · times in UTC · \(Self.time(Timestamp.nowMilliseconds()))"
        let html = ConsoleTemplates.library.render(values, withTemplate: template) ?? "template \(template) is missing"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func problem(_ heading: String, _ text: String, _ visit: ConsoleVisit, status: HTTPResponse.Status) -> Response {
        render("problem", ["title": heading, "heading": heading, "text": text], visit: visit, status: status)
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func forbidden() -> Response {
        let html = "<!doctype html><html lang=\"en\"><title>Refused</title><h1>Refused</h1><p>The form's CSRF token is missing or does not match your session: nothing was changed. <a href=\"/\">Reload the console</a>.</p></html>"
        return Response(status: .forbidden, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func disabled() -> Response {
        let html = "<!doctype html><html lang=\"en\"><title>Console off</title><h1>Console off</h1><p>Set admin.token to use the console on a listener that is not loopback.</p></html>"
        return Response(status: .notFound, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `path` with `items` as its query, each name and value percent-encoded (a dead letter's event id may hold `&`,
    /// `=` or `#`; HTML-escaping alone would leave them to change the lookup).
    static func link(_ path: String, _ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return path }
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }
        return path + "?" + items.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }

    /// RFC 3986's unreserved characters: everything else in a query value is percent-encoded.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func time(_ ms: Int64) -> String { Timestamp.format(epochMilliseconds: ms).replacingOccurrences(of: "T", with: " ") }

    /// "3 min ago".
    static func age(_ ms: Int64, now: Int64) -> String {
        let seconds = max(0, (now - ms) / 1000)
        switch seconds {
        case ..<60: return "\(seconds) s ago"
        case ..<3600: return "\(seconds / 60) min ago"
        case ..<86_400: return "\(seconds / 3600) h ago"
        default: return "\(seconds / 86_400) d ago"
        }
    }

    static func duration(seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : seconds < 3600 ? "\(Int(seconds / 60)) min" : "\(Int(seconds / 3600)) h"
    }

    /// Indented JSON for reading.
    static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .object(let object):
            guard !object.members.isEmpty else { return "{}" }
            return "{\n" + object.members.map { inner + String(decoding: JSONWriter.serialize(.string($0.key)), as: UTF8.self) + ": " + pretty($0.value, indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return String(decoding: JSONWriter.serialize(value), as: UTF8.self)
        }
    }
}
