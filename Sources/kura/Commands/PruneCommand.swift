import ArgumentParser
import Foundation
import KuraCore

struct PruneCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete data no snapshot references; repack packs that are mostly unused.",
        discussion: """
            Packs with no used chunk are deleted; packs more than --max-unused unused are repacked; packs in \
            no index (left by killed backups) and temp files are removed. Crash-safe at every step: new packs, \
            then new index files, then old index files removed, then old packs. Takes the exclusive lock.
            """)

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { dryRun ? .read : .exclusive }
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("Repack packs whose unused share is above this.", valueName: "N%")) var maxUnused = Percentage(10)
    @Flag(help: "Only show what would be done.") var dryRun = false

    /// Parses `10%` (or `10`) into 0.10.
    func run() throws {
        try withRepository { repo in
            let options = PruneOptions(maxUnused: maxUnused.fraction, dryRun: dryRun)
            let report = try Terminal.withProgress("repacked", unit: "packs") { counter, cancellation in
                try Pruner(repository: repo).prune(options, progress: counter, cancellation: cancellation)
            }
            if output.json {
                try Terminal.printJSON(report)
            } else {
                Self.printText(report)
            }
        }
    }

    static func printText(_ report: PruneReport) {
        let verb = report.dryRun ? "would " : ""
        print("""
            \(report.snapshots) snapshots; \(report.packsBefore) packs, \(Format.bytes(report.bytesBefore)) stored, \
            \(Format.bytes(report.unusedBytesBefore)) unused
            \(verb)delete \(report.packsDeleted) packs (\(report.unreferencedPacks) in no index), \(verb)repack \(report.packsRepacked) \
            into \(report.dryRun ? "new" : String(report.packsWritten)) packs
            \(report.dryRun ? "would free" : "freed") \(Format.bytes(report.bytesFreed)); \(Format.bytes(report.bytesAfter)) stored after, \
            \(Format.bytes(report.unusedBytesAfter)) of it unused
            """)
        if !report.dryRun {
            let compacted = report.indexFilesCompacted > 0 ? " (\(report.indexFilesCompacted) small ones merged)" : ""
            print("index: \(report.indexFilesWritten) file(s) written (\(Format.bytes(report.indexBytesWritten))), "
                  + "\(report.indexFilesDeleted) replaced\(compacted), \(report.indexFilesKept) kept as they were; "
                  + "\(report.temporaryFilesRemoved) temp file(s) removed in \(String(format: "%.2f", report.durationSeconds)) s")
        }
    }
}
