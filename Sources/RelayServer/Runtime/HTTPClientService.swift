import RelayDispatch
import ServiceLifecycle

/// Owns the shared HTTP client and shuts it down after the services that use it have stopped.
public struct HTTPClientService: Service {
    public let client: RelayHTTPClient

    public init(client: RelayHTTPClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
