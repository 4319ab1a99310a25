/// The body of `/healthz` and `/readyz`: `ok`, `ready`, `store_not_writable` or `stopping`.
public struct HealthStatus: Codable, Sendable, Equatable {
    public var status: String

    static let ok = HealthStatus(status: "ok")
    static let ready = HealthStatus(status: "ready")
    static let storeNotWritable = HealthStatus(status: "store_not_writable")
    static let stopping = HealthStatus(status: "stopping")
}
