import Foundation

/// Runs a `[hooks]` command with `sh -c` in a process group of its own, its output (stdout and
/// stderr together) going to the run's log line by line, and kills the whole group (SIGTERM, then
/// SIGKILL after 5 s) when it outlives its timeout. It gets Kura's environment without
/// `KURA_PASSWORD`, plus `environment`.
public struct HookRunner: Sendable {
    /// The variables each hook gets on top of Kura's own environment (`KURA_STEP`, `KURA_ERROR`…).
    public var environment: [String: String]
    public var timeout: Double
    /// Kura's own environment, which the hooks inherit (less `KURA_PASSWORD`).
    public var inherited: [String: String]

    public init(environment: [String: String], timeout: Double, inherited: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        self.timeout = timeout
        self.inherited = inherited
    }

    /// How a hook ended.
    public struct Outcome: Equatable, Sendable {
        /// The exit status; 128 + the signal when killed; 124 when it timed out (as timeout(1)).
        public var status: Int32
        public var timedOut: Bool
        public var seconds: Double
    }

    /// Runs `command`; each line it prints goes to `output`.
    public func run(_ command: String, output: (String) -> Void) throws -> Outcome {
        let started = Date()
        var pipe: [Int32] = [0, 0]
        guard makePipe(&pipe) == 0 else { throw KuraError.posix("cannot create a pipe for hook", command) }
        defer { close(pipe[0]) }
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        // The repository's password, if it came in KURA_PASSWORD, is not the hooks' business.
        let merged = inherited.filter { $0.key != "KURA_PASSWORD" }.merging(environment) { _, hook in hook }
        let arguments = ["/bin/sh", "-c", command]
        var pid: pid_t = 0
        let spawned = withCStrings(arguments) { argv in
            withCStrings(merged.map { "\($0.key)=\($0.value)" }) { envp in
                // posix_spawn declares its arrays mutable; it only reads them (same pointers).
                guard let argv = Self.mutable(argv), let envp = Self.mutable(envp) else { return EINVAL }
                return posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
            }
        }
        close(pipe[1])
        guard spawned == 0 else { throw KuraError.io(operation: "cannot start hook", path: command, errno: spawned) }

        var timedOut = false
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = started.addingTimeInterval(timeout)
        var killedAt: Date?
        while true {
            var poller = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            let remaining = max(0, (killedAt?.addingTimeInterval(5) ?? deadline).timeIntervalSinceNow)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000))
            if ready > 0 {
                let count = buffer.withUnsafeMutableBytes { read(pipe[0], $0.baseAddress, $0.count) }
                if count <= 0 { break }
                pending += buffer[0..<count]
                while let newline = pending.firstIndex(of: 10) {
                    output(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                if pending.count > 65_536 {
                    output(String(decoding: pending, as: UTF8.self))
                    pending.removeAll()
                }
            } else if ready < 0 && errno != EINTR {
                break
            }
            if Date() >= deadline && killedAt == nil {
                timedOut = true
                killedAt = Date()
                kill(-pid, SIGTERM)
            } else if let killedAt, Date() >= killedAt.addingTimeInterval(5) {
                kill(-pid, SIGKILL)
                break
            }
        }
        if !pending.isEmpty { output(String(decoding: pending, as: UTF8.self)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Whatever the shell left behind in its group goes with it.
        if timedOut { kill(-pid, SIGKILL) }
        let exited = status & 0x7f == 0
        let code = timedOut ? 124 : exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: code, timedOut: timedOut, seconds: Date().timeIntervalSince(started))
    }

    /// A NULL-terminated array from `withCStrings` as the `char *const[]` that posix_spawn takes.
    private static func mutable(_ strings: UnsafeBufferPointer<UnsafePointer<CChar>?>) -> UnsafePointer<UnsafeMutablePointer<CChar>?>? {
        strings.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self) }
    }
}

/// `pipe(2)` with close-on-exec on both ends (the hook's copies are made by dup2).
private func makePipe(_ fds: inout [Int32]) -> Int32 {
    let made = fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress) }
    guard made == 0 else { return made }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return 0
}
