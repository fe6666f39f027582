import Foundation

/// Runs another program to its end (the reference tools a test compares with: `age`,
/// `age-keygen`, `tar`): its exit status and output.
public enum Program {
    public struct Result {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
    }

    /// `shell` runs in `/bin/sh -c` (for pipelines); the further arguments are `$0`, `$1`, …, so
    /// no path needs quoting.
    public static func sh(_ shell: String, _ arguments: String...) throws -> Result {
        try run("/bin/sh", ["-c", shell] + arguments)
    }

    public static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Standard error is drained on another thread, so that neither pipe can fill and block.
        final class Box: @unchecked Sendable { var data = Data() }
        let stderr = Box()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { stderr.data = err.fileHandleForReading.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr.data, as: UTF8.self))
    }

    /// A key pair made by Debian's `age-keygen` into `file` (the identity); returns its recipient
    /// (`age1…`, the file's "# public key:" line).
    public static func ageKeygen(_ file: String) throws -> String {
        let made = try run("/usr/bin/age-keygen", ["-o", file])
        guard made.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: made.stderr]) }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("# public key: ") }) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(file) has no public key line"])
        }
        return String(line.dropFirst("# public key: ".count))
    }

    /// Whether `/usr/bin/NAME` is installed (tools/test installs what the tests compare with).
    public static func isInstalled(_ name: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/" + name)
    }
}
