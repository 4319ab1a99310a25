// Temporary stand-in until the config loader lands.
public enum ProviderKind: String, Sendable { case line = "line", eightByEight = "8x8" }
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible { public var host: String; public var port: Int; public var isLoopback: Bool { host == "127.0.0.1" }; public var description: String { "\(host):\(port)" }; public init(host: String, port: Int) { self.host = host; self.port = port } }
public struct IPRange: Sendable, Equatable, CustomStringConvertible { public init?(_ text: String) { return nil }; public func contains(_ address: String) -> Bool { false }; public var description: String { "" } }
public enum EightByEightAuth: Sendable, Equatable { case basic(username: String, password: String), bearer(String), none }
public struct SourceConfig: Sendable { public var id: String; public var provider: ProviderKind; public var channelSecrets: [String]; public var auth: EightByEightAuth?; public var allowFrom: [IPRange]
  public init(id: String, provider: ProviderKind, channelSecrets: [String] = [], auth: EightByEightAuth? = nil, allowFrom: [IPRange] = []) { self.id = id; self.provider = provider; self.channelSecrets = channelSecrets; self.auth = auth; self.allowFrom = allowFrom } }
public enum OutputFormat: String, Sendable { case canonical, passthrough }
public struct DestinationConfig: Sendable { public var id: String; public var url: String; public var format: OutputFormat; public var secret: String?; public var signingKey: [UInt8]?; public var lineChannelSecret: String?; public var headers: [(name: String, value: String)]; public var timeout: Duration; public var concurrency: Int; public var retry: [Duration]? }
public struct RouteConfig: Sendable { public var from: [String]?; public var types: [String]?; public var to: [String] }
public enum StoreConfig: Sendable, Equatable { case sqlite(path: String), postgres(url: String) }
public struct RelayConfig: Sendable {
  public var listen: ListenAddress; public var adminListen: ListenAddress; public var adminToken: String?
  public var store: StoreConfig; public var maxBody: Int; public var readTimeout: Duration
  public var dedupWindow: Duration; public var retry: [Duration]; public var retryJitter: Double
  public var sources: [SourceConfig]; public var destinations: [DestinationConfig]; public var routes: [RouteConfig]
  public func source(_ id: String) -> SourceConfig? { sources.first { $0.id == id } }
  public func destination(_ id: String) -> DestinationConfig? { destinations.first { $0.id == id } }
  public func destinations(forSource sourceID: String, type: String) -> [String] { [] }
  public func retrySchedule(for destinationID: String) -> [Duration] { retry }
}
public enum SizeText { public static func parse(_ text: String) -> Int? { nil }; public static func format(_ bytes: Int) -> String { "\(bytes)" } }
public enum DurationText { public static func parse(_ text: String) -> Duration? { nil }; public static func format(_ d: Duration) -> String { "" } }
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible { public var path: String; public var line: Int?; public var message: String; public var description: String { message } }
public struct ConfigError: Error, Sendable, CustomStringConvertible { public var file: String; public var issues: [ConfigIssue]; public var description: String { "" } }
public enum ConfigLoader { public static func load(path: String, environment: [String: String] = [:]) throws(ConfigError) -> RelayConfig { throw ConfigError(file: path, issues: []) } 
  public static func parse(yaml: String, file: String = "routes.yaml", environment: [String: String]) throws(ConfigError) -> RelayConfig { throw ConfigError(file: file, issues: []) } }
extension RelayConfig { public var warnings: [ConfigIssue] { [] }; public func summary() -> String { "" } }
