extension PostgresStore {
    /// Runs the store around `body` (a command, a test): `run()` in a child task, `body` once the schema is ready,
    /// then a close that lets the writer commit what was queued before the connections go.
    public func serving<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withRunning(body)
    }

    public func withRunning<T>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            do {
                try await waitUntilReady()
            } catch {
                // Not ready means `run()` stopped: its error says why (cannot connect, cannot migrate).
                try await group.next()
                throw error
            }
            do {
                let result = try await body()
                await close()
                try await group.waitForAll()
                return result
            } catch {
                await close()
                try? await group.waitForAll()
                throw error
            }
        }
    }
}
