import Foundation

/// Where PostgreSQL's server programs are, and as whom to run them.
struct PostgresBinaries: Sendable {
    /// The folder holding `initdb`, `pg_ctl` and `createdb`.
    var directory: String
    /// The user to run them as (`postgres`) when this process is root, which PostgreSQL refuses to run as, and the
    /// `runuser` that does it.
    var runAs: (user: String, runuser: String)?

    /// Debian keeps the server programs in `/usr/lib/postgresql/<version>/bin`, off `PATH`; elsewhere they are on it.
    static func find() -> PostgresBinaries? {
        let fm = FileManager.default
        var candidates: [String] = []
        let debian = "/usr/lib/postgresql"
        if let versions = try? fm.contentsOfDirectory(atPath: debian) {
            // The newest major version first.
            candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "\(debian)/\($0)/bin" }
        }
        if let initdb = OptionalTool.onPath("initdb") { candidates.append((initdb as NSString).deletingLastPathComponent) }
        guard let directory = candidates.first(where: { dir in
            ["initdb", "pg_ctl", "createdb"].allSatisfy { fm.isExecutableFile(atPath: "\(dir)/\($0)") }
        }) else { return nil }
        guard getuid() == 0 else { return PostgresBinaries(directory: directory, runAs: nil) }
        let runuser = fm.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : OptionalTool.onPath("runuser")
        guard getpwnam("postgres") != nil, let runuser else { return nil }
        return PostgresBinaries(directory: directory, runAs: (user: "postgres", runuser: runuser))
    }

    /// `program` with `arguments`, as `runAs` when set.
    func command(_ program: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        let path = "\(directory)/\(program)"
        if let runAs { return (runAs.runuser, ["-u", runAs.user, "--", path] + arguments) }
        return (path, arguments)
    }
}
