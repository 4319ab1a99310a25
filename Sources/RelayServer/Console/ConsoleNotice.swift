/// The console's status banner: a fixed code in the URL (`?notice=replayed&count=3`) mapped to a fixed text, so a
/// link cannot make the console say anything else ("Your session expired, call ...").
enum ConsoleNotice: Equatable {
    case replayed(Int)

    /// The notice a page's query names (`notice`, `count`); nil for none, an unknown code or a count that is not a number.
    init?(code: String?, count: String?) {
        switch code {
        case "replayed":
            guard let count = count.flatMap({ Int($0) }), count >= 0 else { return nil }
            self = .replayed(count)
        default:
            return nil
        }
    }

    /// The query items that name it.
    var query: [(String, String)] {
        switch self {
        case .replayed(let count): [("notice", "replayed"), ("count", String(count))]
        }
    }

    var text: String {
        switch self {
        case .replayed(let count): "Replayed \(count) dead letter\(count == 1 ? "" : "s")."
        }
    }
}
