import Foundation

/// LINE sample webhooks for `relay simulate`, each made with fresh ids and the current time.
enum LINESamples {
    static let names = ["line-delivery", "line-message", "line-follow"]

    static func body(_ name: String) -> String? {
        let now = Timestamp.nowMilliseconds()
        let eventID = ulid()
        let hash = (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        let line = { (event: String) in
            #"{"destination":"Uc7472b39e21dab71c2347e02714630d6","events":[{"#
                + event + #","webhookEventId":"\#(eventID)","deliveryContext":{"isRedelivery":false},"timestamp":\#(now),"mode":"active"}]}"#
        }
        switch name {
        case "line-delivery": return line(#""type":"delivery","delivery":{"data":"\#(hash)"}"#)
        case "line-message": return line(#""type":"message","replyToken":"\#(UUID().uuidString)","source":{"type":"user","userId":"U4af4980629"},"message":{"id":"\#(now)","type":"text","text":"Hello"}"#)
        case "line-follow": return line(#""type":"follow","replyToken":"\#(UUID().uuidString)","source":{"type":"user","userId":"U4af4980629"},"follow":{"isUnblocked":false}"#)
        default: return nil
        }
    }

    /// A ULID-shaped id (26 Crockford base32 characters), as LINE's webhookEventId.
    static func ulid() -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var time = UInt64(Timestamp.nowMilliseconds())
        var head: [Character] = []
        for _ in 0..<10 {
            head.append(alphabet[Int(time % 32)])
            time /= 32
        }
        return String(head.reversed()) + String((0..<16).map { _ in alphabet.randomElement()! })
    }
}
