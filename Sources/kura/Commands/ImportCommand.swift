import ArgumentParser
import Foundation
import KuraCore

struct ImportCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn archives (backup_complet_<db>_<ts>.tar.gz, old or exported) into snapshots.")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .append }
    @OptionGroup var output: OutputOptions

    @Argument(help: "Archives to import, oldest first.")
    var archives: [String]

    @Option(name: .customLong("tag"), help: "A tag for the snapshots (repeatable); 'imported' is always added.")
    var tags: [String] = []

    @OptionGroup var keys: ArchiveDecryptionOptions

    func run() throws {
        try withRepository { repo in
            let cancellation = CancellationFlag()
            Terminal.cancelOnSignals(cancellation)
            var reports: [BackupReport] = []
            for archive in archives {
                let result = try ArchiveImporter(repository: repo).importArchive(archive, identities: try keys.identities(for: archive, password: repository.password),
                                                                                 tags: tags, cancellation: cancellation)
                result.notices.forEach(Terminal.notice)
                reports.append(BackupReport(snapshot: result.snapshot, summary: result.summary, unreadable: result.unreadable))
                if !output.json {
                    print("\(archive): snapshot \(result.snapshot.id.short) (\(Format.time(result.snapshot.record.time))), "
                          + "\(result.summary.files) files, added \(Format.bytes(result.summary.dataAddedStored))")
                }
            }
            if output.json { try Terminal.printJSON(reports) }
        }
    }
}
