import ArgumentParser
import Foundation
import KuraCore

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a snapshot (or files selected with --include) into a directory.",
        discussion: """
            Existing files are never replaced without confirmation on a terminal or --force (exit 13).
            Files whose data is damaged are listed and skipped (exit 12); the others are restored.
            """)

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "Snapshot: id, id prefix, 'latest' or export name.")
    var snapshot: String

    @Option(help: "Directory to restore into (created if missing).")
    var target: String

    @Option(name: .customLong("include"), help: "Restore only paths matching this glob (repeatable), e.g. 'media/receipts/*.pdf'.")
    var includes: [String] = []

    @Flag(help: "Replace existing files without asking.")
    var force = false

    func run() throws {
        let repo = try repository.open()
        let lock = try repo.lock(exclusive: false)
        defer { lock.release() }
        lock.removedStale.forEach(Terminal.notice)
        let found = try repo.resolve(snapshot)
        var options = RestoreOptions(target: target, include: try includes.map(PathPattern.init), force: force)
        let restorer = Restorer(repository: repo)
        if !force && Terminal.inputIsTerminal {
            let existing = try restorer.conflicts(found, options)
            if !existing.isEmpty {
                guard Terminal.confirm("Restore would overwrite \(existing.count) existing path(s) in \(target), e.g. \(existing[0]). Overwrite?") else {
                    throw KuraError.wouldOverwrite(count: existing.count, examples: existing, target: target)
                }
                options.force = true
            }
        }
        let cancellation = CancellationFlag()
        Terminal.cancelOnSignals(cancellation)
        let counter = ProgressCounter()
        let stop = Terminal.startProgress("restored", counter)
        let result: RestoreResult
        do {
            result = try restorer.restore(found, options, progress: counter, cancellation: cancellation)
            stop()
        } catch {
            stop()
            throw error
        }
        for failure in result.failed { Terminal.error("not restored: \(failure.path): \(failure.reason)") }
        if output.json {
            try Terminal.printJSON(RestoreReport(result: result, snapshot: found.id.hex, target: target))
        } else {
            print("restored \(result.files) files, \(result.directories) directories, \(result.symlinks) symlinks "
                  + "(\(Format.bytes(result.bytes))) from \(found.id.short) to \(target) in \(String(format: "%.2f", result.durationSeconds)) s")
        }
        if !result.failed.isEmpty {
            throw KuraError.integrity("\(result.failed.count) file(s) could not be restored: run 'kura verify' (listed above)")
        }
    }
}

/// `kura restore --json`.
struct RestoreReport: Encodable {
    var result: RestoreResult
    var snapshot: String
    var target: String

    enum CodingKeys: String, CodingKey {
        case snapshot, target, files, directories, symlinks, bytes, failed
        case durationSeconds = "duration_seconds"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(snapshot, forKey: .snapshot)
        try container.encode(target, forKey: .target)
        try container.encode(result.files, forKey: .files)
        try container.encode(result.directories, forKey: .directories)
        try container.encode(result.symlinks, forKey: .symlinks)
        try container.encode(result.bytes, forKey: .bytes)
        try container.encode(result.failed, forKey: .failed)
        try container.encode(result.durationSeconds, forKey: .durationSeconds)
    }
}
