import Hummingbird
import HummingbirdAuth
import NIOCore

/// Request context that remembers the peer address, for `allow_from`, and holds the console's session (admin
/// listener only; the session middleware runs on the console's routes alone).
public struct RelayRequestContext: RequestContext, RemoteAddressRequestContext, SessionRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let sessions = SessionContext<ConsoleSession>()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
