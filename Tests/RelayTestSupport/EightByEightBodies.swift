/// 8x8 webhook bodies for tests, shaped as the fixtures: one message's status events by umid, state and channel.
public enum EightByEightBodies {
    public static func status(
        umid: String, state: String, detail: String? = nil, channel: String = "whatsapp",
        timestamp: String = "2026-11-24T09:00:00.00Z", subAccount: String = "acme_whatsapp"
    ) -> String {
        let detailMember = detail.map { #","detail":"\#($0)""# } ?? ""
        return #"{"namespace":"ChatApps","eventType":"outbound_message_status_changed","description":"ChatApps outbound message delivery receipt","payload":{"umid":"\#(umid)","subAccountId":"\#(subAccount)","channel":"\#(channel)","user":{"msisdn":"+6512345678","channelUserId":"6512345678"},"status":{"state":"\#(state)"\#(detailMember),"timestamp":"\#(timestamp)"}}}"#
    }
}
