import Foundation

/// 8x8 sample webhooks for `relay simulate`, each made with fresh ids and the current time.
enum EightByEightSamples {
    static let names = ["8x8-delivered", "8x8-read", "8x8-undelivered", "8x8-inbound", "8x8-sms-undelivered"]

    static func body(_ name: String) -> String? {
        let now = Timestamp.nowMilliseconds()
        let iso = Timestamp.format(epochMilliseconds: now)
        let umid = UUID().uuidString.lowercased()
        let status = { (state: String, extra: String) in
            #"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","description":"ChatApps outbound message delivery receipt","payload":{"umid":"\#(umid)","clientMessageId":"sim-\#(now)","subAccountId":"acme_whatsapp","channel":"whatsapp","user":{"msisdn":"+6512345678","channelUserId":"6512345678"},"status":{"state":"\#(state)"\#(extra),"timestamp":"\#(iso)"}}}"#
        }
        switch name {
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
}
