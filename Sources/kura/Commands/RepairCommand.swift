import ArgumentParser
import Foundation
import KuraCore

struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair repository structures.",
        subcommands: [RepairIndexCommand.self])
}

struct RepairIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Rebuild the index files from the packs' trailers (after index files were lost or damaged).")

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let (repo, lock) = try repository.openLocked(exclusive: true)
        defer { lock?.release() }
        let report = try repo.repairIndex()
        if output.json {
            try Terminal.printJSON(report)
            return
        }
        report.packsSkipped.forEach { Terminal.notice("skipped: \($0)") }
        print("indexed \(report.packsIndexed) packs (\(report.chunksIndexed) chunks) into \(report.indexFilesWritten) index file(s); "
              + "\(report.indexFilesReplaced) old index file(s) replaced")
        print("next: 'kura verify' checks that every snapshot's data is indexed")
    }
}
