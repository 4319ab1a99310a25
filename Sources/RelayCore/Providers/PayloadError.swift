/// A body that is not JSON or not the provider's shape; answered with 400 `invalid_payload`.
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
