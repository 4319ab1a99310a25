/// The answer to a replay: how many jobs went back to pending.
public struct ReplayResult: Codable, Sendable, Equatable {
    public var replayed: Int
}
