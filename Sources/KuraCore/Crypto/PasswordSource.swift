import Foundation

/// Where a password comes from, in restic's order: a file (`--password-file`, else
/// `KURA_PASSWORD_FILE`), a command that prints it (`--password-command`), the `KURA_PASSWORD`
/// variable, else a prompt on the terminal (`prompt`, given by the command line; nil when there
/// is none). A password is never printed, stored, or put on a child's command line.
public struct PasswordSource: Sendable {
    public var file: String?
    public var command: String?
    public var environment: [String: String]

    /// Empty variables count as unset, as a shell's `KURA_PASSWORD_FILE= kura …` means.
    public init(file: String? = nil, command: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.file = file
        self.command = command
        self.environment = environment.filter { !($0.key.hasPrefix("KURA_PASSWORD") && $0.value.isEmpty) }
    }

    /// The choices, for the error when none is given.
    public static let choices = "--password-file FILE, KURA_PASSWORD_FILE, --password-command CMD, KURA_PASSWORD, or a terminal to type it on"

    /// Whether a source other than the prompt is set.
    public var isSet: Bool {
        file != nil || environment["KURA_PASSWORD_FILE"] != nil || command != nil || environment["KURA_PASSWORD"] != nil
    }

    /// The password's bytes (a file's or command's output without its final newline). `warn`
    /// receives a line for a password file that others can read. Without any source and without
    /// `prompt`: `KuraError.noPassword`.
    public func password(prompt: (() throws -> [UInt8])?, warn: (String) -> Void = { _ in }) throws -> [UInt8] {
        if let path = file ?? environment["KURA_PASSWORD_FILE"] {
            var info = stat()
            if stat(path, &info) == 0 && info.st_mode & 0o077 != 0 {
                warn("\(path) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 it")
            }
            return try Self.firstLine(FileSystem.readFile(path, limit: 1 << 16), from: path)
        }
        if let command {
            let result = try Subprocess.run("/bin/sh", ["-c", command], environment: environment)
            guard result.status == 0 else {
                throw KuraError.invalidArgument("--password-command exited \(result.status): \(result.stderr.split(separator: "\n").first ?? "")")
            }
            return try Self.firstLine([UInt8](result.output), from: "--password-command's output")
        }
        if let text = environment["KURA_PASSWORD"] { return try Self.firstLine(Array(text.utf8), from: "KURA_PASSWORD") }
        guard let prompt else { throw KuraError.noPassword(choices: Self.choices) }
        return try Self.firstLine(try prompt(), from: "the terminal")
    }

    /// The text up to the first newline; an empty password is refused.
    private static func firstLine(_ bytes: [UInt8], from origin: String) throws -> [UInt8] {
        var line = Array(bytes.prefix { $0 != UInt8(ascii: "\n") })
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard !line.isEmpty else { throw KuraError.invalidArgument("the password from \(origin) is empty") }
        return line
    }
}
