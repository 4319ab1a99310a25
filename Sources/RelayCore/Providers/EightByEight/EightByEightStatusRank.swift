/// 8x8's delivery order within one channel (SPEC section 10): a higher rank advances a message, an equal or lower
/// one does not. Kept with the provider because the order is 8x8's fact, not relay's.
enum EightByEightStatusRank {
    /// queued 1 < sent 2 < delivered to operator 3 < delivered (to recipient or no detail), undelivered, failed,
    /// rejected 4 < read 5; nil (never advances) for `unknown` and any state 8x8 adds later.
    static func rank(status: String, detail: String?) -> Int? {
        switch status.lowercased() {
        case "queued": return 1
        case "sent": return 2
        case "delivered": return detail?.lowercased() == "delivered_to_operator" ? 3 : 4
        case "undelivered", "failed", "rejected": return 4
        case "read": return 5
        default: return nil
        }
    }
}
