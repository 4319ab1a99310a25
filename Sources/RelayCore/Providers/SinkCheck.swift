/// How `relay sink` checks the signature a provider's passthrough body carries.
public struct SinkCheck: Sendable {
    /// The `relay sink` option (without `--`) that gives the secret.
    public var option: String
    /// The option's help text.
    public var help: String
    /// The request header that carries the signature.
    public var header: String
    /// What the verdict calls the signature, e.g. "X signature".
    public var label: String
    /// Whether `signature` signs `body` with `secret`.
    public var verify: @Sendable (_ signature: String, _ body: [UInt8], _ secret: String) -> Bool

    /// Creates a check.
    public init(option: String, help: String, header: String, label: String,
                verify: @escaping @Sendable (_ signature: String, _ body: [UInt8], _ secret: String) -> Bool) {
        self.option = option
        self.help = help
        self.header = header
        self.label = label
        self.verify = verify
    }
}
