import Foundation

/// The `kura` binary run as a process, as cron or a user runs it, in a folder of its own: a
/// repository path (`$KURA_REPO`), a cache (`$KURA_CACHE`), a password file
/// (`$KURA_PASSWORD_FILE`: `kura init` makes encrypted repositories) and a small media folder.
public final class CLISandbox {
    /// `kura` beside the test bundle (both are in the build folder), or `$KURA_BINARY`.
    public static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["KURA_BINARY"] { return path }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("kura").path) && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("kura").path
    }()

    /// What a finished run printed and returned.
    public struct Run {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var stdoutBytes = Data()
    }

    public let root = NSTemporaryDirectory() + "kura-cli-" + UUID().uuidString
    /// `$KURA_REPO`: `<root>/repo`, or the remote repository given at init.
    public let repo: String
    public var media: String { root + "/media" }
    /// `$KURA_PASSWORD_FILE` (mode 600): the password of the sandbox's encrypted repositories.
    public var passwordFile: String { root + "/password" }
    /// Environment every run gets (credentials of a remote repository).
    public var environment: [String: String]

    /// A sandbox whose repository is `<root>/repo`, or `repository` (a URL) with `environment`.
    public init(repository: String? = nil, environment: [String: String] = [:]) throws {
        repo = repository ?? root + "/repo"
        self.environment = environment
        try FileManager.default.createDirectory(atPath: root + "/media/receipts", withIntermediateDirectories: true)
        try Data("photo".utf8).write(to: URL(fileURLWithPath: media + "/photo.jpg"))
        try Data("reçu".utf8).write(to: URL(fileURLWithPath: media + "/receipts/reçu été.pdf"))
        _ = FileManager.default.createFile(atPath: passwordFile, contents: Data("correct horse battery staple\n".utf8),
                                       attributes: [.posixPermissions: 0o600])
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    @discardableResult
    public func kura(_ arguments: String...) throws -> Run {
        try run(arguments)
    }

    /// Runs `kura` to its end, with extra environment variables (and a umask, as a shell gives).
    public func run(_ arguments: [String], environment extra: [String: String] = [:], umask mask: String? = nil) throws -> Run {
        let process = try start(arguments, environment: extra, umask: mask)
        let stdout = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        let stderr = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self), stdoutBytes: stdout)
    }

    /// Starts `kura` without waiting for it.
    public func start(_ arguments: [String], environment extra: [String: String] = [:], umask mask: String? = nil) throws -> Process {
        let process = Process()
        if let mask {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "umask \(mask) && exec \"$0\" \"$@\"", Self.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["KURA_CACHE"] = root + "/cache"
        environment["KURA_REPO"] = repo
        environment["KURA_PASSWORD_FILE"] = passwordFile
        environment.merge(self.environment) { $1 }
        environment.merge(extra) { $1 }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Adds `megabytes` of incompressible data, so that a backup takes a moment.
    public func addBulk(megabytes: Int) throws {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        for index in 0..<(megabytes / 8) {
            try handle.readData(ofLength: 8 << 20).write(to: URL(fileURLWithPath: media + "/bulk\(index).bin"))
        }
    }

    /// Seeded files of 100 KB to 900 KB in `folder`, so that a backup writes several 1 MiB packs.
    public static func addFiles(_ folder: String, count: Int, seed: Int) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: UInt64(seed))
        for index in 0..<count {
            let size = Int.random(in: 100_000...900_000, using: &generator)
            try Data(randomBytes(size, seed: generator.next())).write(to: URL(fileURLWithPath: "\(folder)/file\(seed)-\(index).jpg"))
        }
    }

    /// A SQLite site database (one table `t`, one row) in the sandbox: its `sqlite://` URL.
    public func siteDatabase(name: String = "site.sqlite3") throws -> String {
        let path = root + "/" + name
        let process = try Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: [
            "python3", "-c", "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute('create table t(a)'); d.execute('insert into t values (1)'); d.commit()", path])
        process.waitUntilExit()
        return "sqlite://" + path
    }
}
