/// A passthrough body cannot be sent to a destination as the provider's own format requires.
public struct PassthroughSigningError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
