import ArgumentParser
import Foundation
import KuraCore

/// Everything the CLI writes besides command results: errors, notices, the progress line,
/// confirmations. The progress line appears only when stderr is a terminal.
enum Terminal {
    static let isInteractive = isatty(STDERR_FILENO) == 1
    static let inputIsTerminal = isatty(STDIN_FILENO) == 1
    private static let lock = NSLock()
    private nonisolated(unsafe) static var progressShown = false

    static func error(_ message: String) {
        // A configuration's problems come one per line: each gets the prefix.
        for line in message.split(separator: "\n", omittingEmptySubsequences: false) { write("kura: error: \(line)\n") }
    }

    static func warning(_ message: String) {
        notice("warning: " + message)
    }

    static func notice(_ message: String) {
        clearProgress()
        write("kura: \(message)\n")
    }

    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func progress(_ line: String) {
        guard isInteractive else { return }
        lock.lock()
        defer { lock.unlock() }
        let width = 100
        let clipped = line.count > width ? String(line.prefix(width - 1)) + "…" : line
        write("\r\u{1B}[2K" + clipped)
        progressShown = true
    }

    static func clearProgress() {
        lock.lock()
        defer { lock.unlock() }
        if progressShown { write("\r\u{1B}[2K") }
        progressShown = false
    }

    /// Asks a yes/no question on the terminal; the default answer is no.
    /// Asks before a restore replaces what exists (`conflicts`, one line each): true when the user
    /// said yes, false when there is nothing to replace; a "no" ends the command with exit 13.
    static func confirmReplacing(_ conflicts: [String]) throws -> Bool {
        guard !conflicts.isEmpty else { return false }
        guard confirm("Restore would replace:\n  " + conflicts.joined(separator: "\n  ") + "\nReplace them?") else {
            error("restore declined: nothing was changed")
            throw ExitCode(13)
        }
        return true
    }

    static func confirm(_ question: String) -> Bool {
        guard inputIsTerminal else { return false }
        clearProgress()
        write(question + " [y/N] ")
        guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return answer == "y" || answer == "yes"
    }

    /// Draws a progress line from `counter` twice a second until `stop` is called.
    static func startProgress(_ verb: String, _ counter: ProgressCounter, unit: String = "files") -> () -> Void {
        guard isInteractive else { return {} }
        let started = Date()
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler {
            let state = counter.snapshot
            let elapsed = Date().timeIntervalSince(started)
            let rate = elapsed > 0 ? Double(state.bytes) / elapsed : 0
            progress("[\(Format.duration(elapsed))] \(verb) \(state.files) \(unit), \(Format.bytes(state.bytes)), \(Format.bytes(Int64(rate)))/s  \(state.current)")
        }
        timer.resume()
        return {
            timer.cancel()
            clearProgress()
        }
    }

    /// Runs long work with Ctrl-C/SIGTERM turned into cancellation and, when `shown` and stderr is
    /// a terminal, a progress line that is cleared when the work ends, however it ends.
    static func withProgress<T>(_ verb: String, unit: String = "files", shown: Bool = true,
                                _ body: (ProgressCounter, CancellationFlag) throws -> T) rethrows -> T {
        let cancellation = CancellationFlag()
        cancelOnSignals(cancellation)
        let counter = ProgressCounter()
        let stop = shown ? startProgress(verb, counter, unit: unit) : {}
        defer { stop() }
        return try body(counter, cancellation)
    }

    /// Ctrl-C and SIGTERM set `flag`; the library then stops cleanly and the command exits 130.
    static func cancelOnSignals(_ flag: CancellationFlag) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: DispatchQueue.global())
            source.setEventHandler { flag.cancel() }
            source.resume()
            signalSources.append(source)
        }
    }

    private nonisolated(unsafe) static var signalSources: [DispatchSourceSignal] = []

    /// Prints an encodable value as JSON on stdout.
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// Human-readable figures.
enum Format {
    static func bytes(_ count: Int64) -> String { HumanReadable.bytes(count) }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        return String(format: "%d:%02d", total / 60, total % 60)
    }

    /// `2026-11-24 23:05:01` from a snapshot time.
    static func time(_ timestamp: String) -> String {
        String(timestamp.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    static func mode(_ entry: Entry) -> String {
        let kind: Character = entry.kind == .directory ? "d" : entry.kind == .symlink ? "l" : "-"
        let letters = Array("rwxrwxrwx")
        let bits = (0..<9).map { entry.mode & (1 << (8 - $0)) != 0 ? letters[$0] : "-" }
        return String(kind) + String(bits)
    }

    static func mtime(_ nanoseconds: Int64) -> String {
        Format.time(Timestamp.format(seconds: Int(nanoseconds / 1_000_000_000), nanoseconds: 0))
    }
}
