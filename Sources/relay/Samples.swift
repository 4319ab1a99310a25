import Foundation
import RelayCore

/// Sample provider webhooks for `relay simulate`, each made with fresh ids and the current time.
enum Samples {
    static let names = ["line-delivery", "line-message", "line-follow", "8x8-delivered", "8x8-read", "8x8-undelivered", "8x8-inbound", "8x8-sms-undelivered"]

    static func provider(of name: String) -> ProviderKind { name.hasPrefix("line") ? .line : .eightByEight }

    static func body(_ name: String) -> String? {
        let now = Timestamp.nowMilliseconds()
        let iso = Timestamp.format(epochMilliseconds: now)
        let umid = UUID().uuidString.lowercased()
        let eventID = ulid()
        let hash = (0..<64).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        let line = { (event: String) in
            #"{"destination":"Uc7472b39e21dab71c2347e02714630d6","events":[{"#
                + event + #","webhookEventId":"\#(eventID)","deliveryContext":{"isRedelivery":false},"timestamp":\#(now),"mode":"active"}]}"#
        }
        let status = { (state: String, extra: String) in
            #"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","description":"ChatApps outbound message delivery receipt","payload":{"umid":"\#(umid)","clientMessageId":"sim-\#(now)","subAccountId":"acme_whatsapp","channel":"whatsapp","user":{"msisdn":"+6512345678","channelUserId":"6512345678"},"status":{"state":"\#(state)"\#(extra),"timestamp":"\#(iso)"}}}"#
        }
        switch name {
        case "line-delivery": return line(#""type":"delivery","delivery":{"data":"\#(hash)"}"#)
        case "line-message": return line(#""type":"message","replyToken":"\#(UUID().uuidString)","source":{"type":"user","userId":"U4af4980629"},"message":{"id":"\#(now)","type":"text","text":"Hello"}"#)
        case "line-follow": return line(#""type":"follow","replyToken":"\#(UUID().uuidString)","source":{"type":"user","userId":"U4af4980629"},"follow":{"isUnblocked":false}"#)
        case "8x8-delivered": return status("delivered", #","detail":"delivered_to_recipient""#)
        case "8x8-read": return status("read", "")
        case "8x8-undelivered": return status("undelivered", #","detail":"rejected_by_operator","errorCode":15,"errorMessage":"Invalid destination""#)
        case "8x8-inbound":
            return #"{"namespace":"ChatApps","eventType":"inbound_message_received","description":"ChatApps inbound message","payload":{"umid":"\#(umid)","subAccountId":"acme_whatsapp","timestamp":"\#(iso)","user":{"msisdn":"+6512345678","channelUserId":"6512345678"},"recipient":{"channel":"whatsapp"},"type":"Text","content":{"text":"Hi"}}}"#
        case "8x8-sms-undelivered":
            return #"{"namespace":"SMS","eventType":"outbound_message_status_changed","description":"SMS outbound message delivery receipt","payload":{"umid":"\#(umid)","subAccountId":"SubAccount-1","source":"8x8","destination":"+12025550293","status":{"state":"undelivered","detail":"rejected_by_operator","timestamp":"\#(iso)","errorCode":15,"errorMessage":"Invalid destination"}}}"#
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
