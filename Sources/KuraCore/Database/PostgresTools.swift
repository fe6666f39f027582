import Foundation

/// Finds `pg_dump` and `pg_restore` of a major version at least the server's, in
/// `/usr/lib/postgresql/*/bin` (Debian's versioned installs) and in `$PATH`.
struct PostgresTools {
    let directory: String
    let major: Int
    let version: String

    var pgDump: String { directory + "/pg_dump" }
    var pgRestore: String { directory + "/pg_restore" }

    static func find(forServerVersion serverVersion: Int) throws -> PostgresTools {
        let serverMajor = serverVersion / 10000
        var directories = (try? FileSystem.list("/usr/lib/postgresql"))?.map { "/usr/lib/postgresql/\($0)/bin" } ?? []
        directories += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        var found: [PostgresTools] = []
        for directory in directories where FileSystem.exists(directory + "/pg_dump") && FileSystem.exists(directory + "/pg_restore") {
            guard let result = try? Subprocess.run(directory + "/pg_dump", ["--version"]), result.status == 0,
                  let version = result.stdout.split(separator: " ").last(where: { $0.first?.isNumber == true }),
                  let major = Int(version.split(separator: ".").first ?? "") else { continue }
            found.append(PostgresTools(directory: directory, major: major, version: String(version).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        // The newest tools read every older server; Debian's /usr/bin wrappers come last.
        guard let best = found.filter({ $0.major >= serverMajor }).max(by: { $0.major < $1.major }) else {
            let seen = found.map { "\($0.major) (\($0.directory))" }.joined(separator: ", ")
            throw KuraError.database(.noTools(major: serverMajor, found: seen.isEmpty ? "none" : seen))
        }
        return best
    }
}
