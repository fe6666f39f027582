import Foundation

/// A repository on any remote the `rclone` command knows (OneDrive, Google Drive, SFTP, Dropbox,
/// a local folder …), `rclone:REMOTE:PATH`, through Debian's rclone run as a subprocess: `lsf`,
/// `lsjson --stat`, `cat --offset --count` for ranged reads, `rcat` into `tmp/` then `moveto`
/// so that an object is visible only once complete, `deletefile`. rclone reads its own config
/// (`RCLONE_CONFIG`, `~/.config/rclone/rclone.conf`): no credential ever passes through Kura.
/// Each call starts a process (about 50–100 ms), so this backend suits offsite copies more
/// than hot restores; its transient failures are retried as the S3 store's are.
public final class RcloneObjectStore: ObjectStore, @unchecked Sendable {
    public let location: String
    public let parallelWrites = 2
    private let remote: String
    private let executable: String
    private let environment: [String: String]
    private let retry: RetryPolicy

    /// `remote` is `REMOTE:PATH` as `rclone` takes it.
    public init(remote: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                retry: RetryPolicy = .standard()) throws {
        let trimmed = remote.hasSuffix("/") && !remote.hasSuffix(":/") ? String(remote.dropLast()) : remote
        self.remote = trimmed
        location = "rclone:" + trimmed
        self.environment = environment
        self.retry = retry
        let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { String($0) + "/rclone" }
        guard let found = path.first(where: { access($0, X_OK) == 0 }) else {
            throw KuraError.missingTool(name: "rclone", hint: "install it (apt-get install rclone) and configure the remote with 'rclone config'")
        }
        executable = found
    }

    private func path(_ name: String) -> String {
        name.isEmpty ? remote : remote.hasSuffix(":") || remote.hasSuffix("/") ? remote + name : remote + "/" + name
    }

    public func list(_ folder: String) throws -> [String] {
        let result = try rclone(["lsf", "--max-depth", "1", path(folder)], object: folder, missingIsFine: true)
        guard let result else { return [] }
        return result.stdout.split(separator: "\n").map { $0.hasSuffix("/") ? String($0.dropLast()) : String($0) }
            .filter { !$0.isEmpty }
    }

    public func size(of name: String) throws -> Int64? {
        guard let result = try rclone(["lsjson", "--stat", "--no-mimetype", "--no-modtime", path(name)], object: name, missingIsFine: true) else { return nil }
        struct Stat: Decodable { var Size: Int64; var IsDir: Bool }
        guard let stat = try? JSONDecoder().decode(Stat.self, from: result.output) else {
            throw KuraError.storageFailed(location: location, object: name, reason: "rclone lsjson gave an unreadable answer")
        }
        return stat.IsDir ? nil : stat.Size
    }

    public func read(_ name: String, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        let bytes = try readExisting(name, ["cat", "--offset", String(offset), "--count", String(buffer.count), path(name)])
        guard bytes.count == buffer.count else {
            throw KuraError.integrity(.fileTruncated(path: location + "/" + name, wanted: buffer.count, offset: offset))
        }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    public func read(_ name: String, limit: Int) throws -> [UInt8] {
        let bytes = try readExisting(name, ["cat", "--count", String(limit + 1), path(name)])
        guard bytes.count <= limit else {
            throw KuraError.integrity(.fileTooLarge(path: location + "/" + name, size: Int64(bytes.count), limit: limit))
        }
        return bytes
    }

    public func write(_ bytes: [UInt8], as name: String) throws {
        let staging = "tmp/upload-" + FileSystem.randomName()
        FaultInjection.step()
        _ = try rclone(["rcat", path(staging)], object: name, input: bytes)
        try move(staging, to: name)
    }

    /// An upload: durable once it returns, the local file needs no sync.
    public var publishesTheFileItself: Bool { false }

    public func publish(file: String, as name: String) throws {
        let staging = "tmp/upload-" + FileSystem.randomName()
        FaultInjection.step()
        _ = try rclone(["copyto", file, path(staging)], object: name)
        try move(staging, to: name)
        unlink(file)
    }

    public func delete(_ names: [String]) throws {
        for name in names {
            FaultInjection.step()
            // rclone says "doesn't exist" with status 1 for a missing file: look first.
            guard try size(of: name) != nil else { continue }
            _ = try rclone(["deletefile", "--retries", "1", path(name)], object: name)
        }
    }

    // MARK: Running rclone

    /// rclone's last message line without its log time and level ("2026/11/30 14:19:12 ERROR : ").
    static func lastLine(_ stderr: String, status: Int32) -> String {
        guard var line = stderr.split(separator: "\n").last.map(String.init) else { return "exit status \(status)" }
        if let match = line.range(of: #"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (?:[A-Z]+ *: )?"#, options: .regularExpression) {
            line.removeSubrange(match)
        }
        return line
    }

    private func move(_ staging: String, to name: String) throws {
        _ = try rclone(["moveto", path(staging), path(name)], object: name)
    }

    private func readExisting(_ name: String, _ arguments: [String]) throws -> [UInt8] {
        guard let result = try rclone(arguments, object: name, missingIsFine: true) else {
            throw KuraError.io(operation: "cannot open", path: location + "/" + name, errno: ENOENT)
        }
        return [UInt8](result.output)
    }

    /// Runs rclone; nil when `missingIsFine` and it says the object or folder does not exist
    /// (exit 3 or 4). Exit 5 (a temporary error) is tried again; anything else is one error line.
    private func rclone(_ arguments: [String], object: String, missingIsFine: Bool = false,
                        input: [UInt8]? = nil) throws -> Subprocess.Result? {
        var attempt = 0
        while true {
            let result = try Subprocess.run(executable, ["--ask-password=false"] + arguments, environment: environment, input: input)
            switch result.status {
            case 0: return result
            case 3 where missingIsFine, 4 where missingIsFine: return nil
            case 5 where retry.pauseBeforeRetry(after: attempt): attempt += 1
            default:
                throw KuraError.storageFailed(location: location, object: object,
                                              reason: "rclone \(arguments[0]): " + Self.lastLine(result.stderr, status: result.status))
            }
        }
    }
}
