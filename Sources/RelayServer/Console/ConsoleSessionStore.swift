import Hummingbird
import ServiceLifecycle

/// Where the console's signed-in sessions live: in this process (an operator signs in again after a restart), at
/// most `capacity` of them, each until it expires. Run in the service group, it removes expired sessions every
/// `tidyInterval`; when full, a new sign-in pushes out the session closest to expiring.
///
/// Only a sign-in stores a session (the sign-in form's CSRF token rides on a signed cookie, ``ConsoleCookies``), so
/// the count is bounded by sign-ins with the right token, and the cap bounds even those.
public actor ConsoleSessionStore: PersistDriver {
    struct Item {
        let value: any Codable & Sendable
        let expires: ContinuousClock.Instant?
    }

    private var items: [String: Item] = [:]
    let capacity: Int
    let tidyInterval: Duration

    public init(capacity: Int = 1_000, tidyInterval: Duration = .seconds(60)) {
        self.capacity = capacity
        self.tidyInterval = tidyInterval
    }

    /// Sessions held, expired ones not yet removed included.
    public var count: Int { items.count }

    public func create(key: String, value: some Codable & Sendable, expires: Duration?) async throws {
        guard items[key] == nil else { throw PersistError.duplicate }
        makeRoom(now: .now)
        items[key] = Item(value: value, expires: expires.map { .now + $0 })
    }

    public func set(key: String, value: some Codable & Sendable, expires: Duration?) async throws {
        if items[key] == nil { makeRoom(now: .now) }
        items[key] = Item(value: value, expires: expires.map { .now + $0 } ?? items[key]?.expires)
    }

    public func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    public func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        guard let item = items[key] else { return nil }
        let now = ContinuousClock.now
        if let expires = item.expires, expires <= now { return nil }
        guard let object = item.value as? Object else { throw PersistError.invalidConversion }
        return (object, item.expires.map { now.duration(to: $0) })
    }

    public func remove(key: String) async throws {
        items[key] = nil
    }

    /// Removes every session expired at `now`.
    func tidy(now: ContinuousClock.Instant = .now) {
        items = items.filter { $0.value.expires.map { $0 > now } ?? true }
    }

    /// Before adding one: expired sessions go, and if still full, the one closest to expiring.
    private func makeRoom(now: ContinuousClock.Instant) {
        guard items.count >= capacity else { return }
        tidy(now: now)
        // Sessions always have an expiry here; one without would sort last.
        func expiry(_ item: Item) -> Duration { item.expires.map { now.duration(to: $0) } ?? .seconds(Int64.max) }
        while items.count >= capacity, let first = items.min(by: { expiry($0.value) < expiry($1.value) })?.key {
            items[first] = nil
        }
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: self.tidyInterval)
                await self.tidy()
            }
        }
    }
}
