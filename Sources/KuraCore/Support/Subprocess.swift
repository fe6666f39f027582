import Foundation

/// Runs a program to completion with an environment, its stdout discarded or captured, its stderr
/// captured for error messages.
enum Subprocess {
    struct Result {
        var status: Int32
        /// Standard output as bytes (empty when not captured).
        var output: Data
        var stderr: String
        var stdout: String { String(decoding: output, as: UTF8.self) }
    }

    /// Written by one reader thread, read after it is done.
    private final class OutputBox: @unchecked Sendable {
        var data = Data()
    }

    /// Runs `executable`; `input`, when given, is its standard input (else /dev/null).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    captureOutput: Bool = true, input: [UInt8]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = captureOutput ? out : FileHandle.nullDevice
        process.standardError = err
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
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
        if let input {
            let writer = inputPipe.fileHandleForWriting
            DispatchQueue.global().async(group: group) {
                // A child that exits early closes the pipe: the write fails (EPIPE), which its status reports.
                try? writer.write(contentsOf: input)
                try? writer.close()
            }
        }
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: output.data,
                      stderr: String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
