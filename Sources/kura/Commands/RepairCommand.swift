import ArgumentParser
import Foundation
import KuraCore

struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair repository structures.",
        subcommands: [RepairIndexCommand.self, RepairPermissionsCommand.self])
}

struct RepairPermissionsCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "permissions",
        abstract: "Make the repository's files and folders, and its local cache, owner-only (repositories made before Kura 2).",
        discussion: "Files become 0600 and folders 0700, or 0640 and 0750 when the repository's config file is group-readable (a backup operator group). Nothing is ever left readable by other users.")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .exclusive }
    @OptionGroup var output: OutputOptions

    func run() throws {
        try withRepository { repo in
            let report = try repo.repairPermissions()
            if output.json {
                try Terminal.printJSON(report)
                return
            }
            print("changed the mode of \(report.changed) of \(report.examined) files and folders "
                  + "(files \(report.fileMode), folders \(report.directoryMode))")
        }
    }
}

struct RepairIndexCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Rebuild the index files from the packs' trailers (after index files were lost or damaged).")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .exclusive }
    @OptionGroup var output: OutputOptions

    func run() throws {
        try withRepository { repo in
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
}
