import Foundation
import PostgresNIO

/// A `postgres://user:password@host:5432/database?sslmode=require` URL, as the configuration names the store.
enum PostgresConnectionURL {
    /// The client configuration the URL describes. Errors name the part that is wrong, never the password.
    static func configuration(_ url: String) throws(StoreError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql" else {
            throw StoreError(.unsupported, "store.postgres is not a postgres:// or postgresql:// URL")
        }
        guard let host = components.host, !host.isEmpty else { throw StoreError(.unsupported, "store.postgres names no host") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw StoreError(.unsupported, "store.postgres names no database") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer(tlsConfiguration(verification: .none))
        // As libpq: `require` encrypts without checking the certificate; the `verify-` modes check it.
        case "require": tls = .require(tlsConfiguration(verification: .none))
        case "verify-ca": tls = .require(tlsConfiguration(verification: .noHostnameVerification))
        case "verify-full": tls = .require(tlsConfiguration(verification: .fullVerification))
        case let other: throw StoreError(.unsupported, "store.postgres has an unknown sslmode \(other)")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: database.removingPercentEncoding ?? database, tls: tls)
        configuration.options.maximumConnections = 8
        // A commit that waits for a dead server answers 503 within seconds instead of holding the request.
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = sessionSettings
        return configuration
    }

    /// The same server for one connection of its own, outside the pool: how the store finds out that PostgreSQL
    /// answers while the pool is still backing off.
    static func directConfiguration(_ url: String) throws -> PostgresConnection.Configuration {
        let pooled = try configuration(url)
        let query = Dictionary((URLComponents(string: url)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let tls: PostgresConnection.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer(try NIOSSLContext(configuration: tlsConfiguration(verification: .none)))
        case "require": tls = .require(try NIOSSLContext(configuration: tlsConfiguration(verification: .none)))
        case "verify-ca": tls = .require(try NIOSSLContext(configuration: tlsConfiguration(verification: .noHostnameVerification)))
        default: tls = .require(try NIOSSLContext(configuration: tlsConfiguration(verification: .fullVerification)))
        }
        var direct = PostgresConnection.Configuration(
            host: pooled.host ?? "localhost", port: pooled.port ?? 5432, username: pooled.username, password: pooled.password,
            database: pooled.database, tls: tls)
        direct.options.connectTimeout = .seconds(1)
        direct.options.additionalStartupParameters = sessionSettings
        return direct
    }

    /// Settings every session of relay's starts with (the server takes them from the startup message).
    ///
    /// `idle_in_transaction_session_timeout`: relay never leaves a transaction waiting on itself; its statements go
    /// back to back and a commit is given up on after ``PostgresStore/commitDeadline``. A session idle inside a
    /// transaction for longer is one relay abandoned: a connection cut without a word (a partition that drops packets,
    /// no RST), where the server would otherwise keep the transaction, and the row locks of the jobs it was recording
    /// or claiming, for as long as its TCP keepalive takes (two hours by default). `SKIP LOCKED` claims skip those
    /// rows the whole time: their jobs look in flight and are never taken again. Ended by the server, the transaction
    /// rolls back and the locks go (the fault suite's `partition_flows` found this).
    static let sessionSettings: [(String, String)] = [
        ("idle_in_transaction_session_timeout", "\(abandonedTransactionSeconds)s"),
        ("application_name", "relay"),
    ]

    /// How long a transaction may wait on relay before the server ends its session: well over any pause between two
    /// statements of one transaction, and below the default job lease (30 s).
    static let abandonedTransactionSeconds = 5

    private static func tlsConfiguration(verification: CertificateVerification) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = verification
        return tls
    }
}
