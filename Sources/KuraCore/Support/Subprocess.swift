import Foundation

/// Runs a program to completion with an environment, its stdout discarded or captured, its stderr
/// captured for error messages.
enum Subprocess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Written by one reader thread, read after it is done.
    private final class OutputBox: @unchecked Sendable {
        var data = Data()
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    captureOutput: Bool = true) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = captureOutput ? out : FileHandle.nullDevice
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw KuraError.database(.cannotRun(executable: executable, reason: error.localizedDescription))
        }
        // Read both pipes concurrently so that neither fills up and blocks the child.
        let output = OutputBox()
        let group = DispatchGroup()
        if captureOutput {
            DispatchQueue.global().async(group: group) { output.data = out.fileHandleForReading.readDataToEndOfFile() }
        }
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: output.data, as: UTF8.self),
                      stderr: String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
