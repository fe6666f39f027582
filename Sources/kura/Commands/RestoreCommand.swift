import ArgumentParser
import Foundation
import KuraCore

struct RestoreCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a snapshot: its files into a directory, its media in place, its database.",
        discussion: """
            --target DIR writes the snapshot tree (database dump and media/) as files; --media-to DIR \
            restores media/ into the live MEDIA_ROOT; --database URL restores the dump into PostgreSQL \
            (created if missing) or over a SQLite file. Nothing that exists is replaced without a 'y' on a \
            terminal or --force (exit 13); what is replaced is first saved as a 'pre-restore' snapshot. \
            Damaged data: the files concerned are listed (exit 12); a damaged dump stops the restore \
            before the database is touched.
            """)

    @OptionGroup var repository: RepositoryOptions
    /// A pre-restore snapshot is added under the same shared lock; a read-only repository can still be restored from.
    var lockMode: LockMode { .read }
    @OptionGroup var output: OutputOptions

    @Argument(help: "Snapshot (id, id prefix, 'latest', export name) or an archive file ….tar.gz (or ….tar.gz.age).")
    var snapshot: String

    @Option(help: "Directory to write the snapshot tree into (created if missing).")
    var target: String?

    @Option(help: "Restore the snapshot's media/ into this folder (the live MEDIA_ROOT).")
    var mediaTo: String?

    @Option(help: ArgumentHelp("Restore the database into this URL (postgresql://… or sqlite:///…).", valueName: "URL"))
    var database: DatabaseURL?

    @Option(name: .customLong("include"), help: ArgumentHelp("Restore only paths matching this glob (repeatable), e.g. 'media/receipts/*.pdf'.",
                                                             valueName: "PATTERN"))
    var includes: [PathPattern] = []

    @Flag(help: "Replace existing files and a non-empty database without asking.")
    var force = false

    @Flag(help: "Do not take a pre-restore snapshot of what is replaced.")
    var noSafetySnapshot = false

    @OptionGroup var keys: ArchiveDecryptionOptions

    func validate() throws {
        if target == nil && mediaTo == nil && database == nil {
            throw ValidationError("say where to restore: --target DIR, --media-to DIR and/or --database URL")
        }
    }

    /// True when SNAP names an archive file rather than a snapshot.
    var isArchive: Bool { (snapshot.hasSuffix(".tar.gz") || snapshot.hasSuffix(".tar.gz.age")) && FileManager.default.fileExists(atPath: snapshot) }

    func run() throws {
        if isArchive {
            // No repository needed; one given (--repo / KURA_REPO) receives the pre-restore
            // snapshot, under the same lock (a locked or read-only one stops the restore, exit 11, 1).
            let source = ArchiveRestorer(path: snapshot, identities: try keys.identities(for: snapshot, password: repository.password))
            guard (try? repository.path) != nil else { return try restore(from: source, repository: nil) }
            do {
                try withRepository { repo in try restore(from: source, repository: repo) }
            } catch KuraError.noRepository {
                try restore(from: source, repository: nil)
            }
        } else {
            try withRepository { repo in
                try restore(from: SnapshotRestoreSource(repository: repo, snapshot: try repo.resolve(snapshot)), repository: repo)
            }
        }
    }

    /// The one restore, from a snapshot or an archive: confirmation, restore, report.
    private func restore(from source: RestoreSource, repository: Repository?) throws {
        var options = SiteRestoreOptions(target: target, mediaTo: mediaTo, database: database,
                                         include: includes, force: force, safetySnapshot: !noSafetySnapshot)
        let restorer = SiteRestorer(repository: repository)
        if !force && Terminal.inputIsTerminal {
            options.force = try Terminal.confirmReplacing(try restorer.conflicts(source, options))
        }
        if repository == nil && options.force && !noSafetySnapshot {
            Terminal.notice("no repository (--repo / KURA_REPO): what is replaced is not saved as a pre-restore snapshot")
        }
        let result = try Terminal.withProgress("restored") { counter, cancellation in
            try restorer.restore(source, options, progress: counter, cancellation: cancellation)
        }
        result.warnings.forEach(Terminal.notice)
        let trees = [result.tree, result.media].compactMap { $0 }
        for failure in trees.flatMap(\.failed) { Terminal.error("not restored: \(failure.path): \(failure.reason)") }
        if output.json {
            let name = (source as? SnapshotRestoreSource)?.snapshot.id.hex ?? snapshot
            try Terminal.printJSON(RestoreReport(result: result, snapshot: name))
        } else {
            if let safety = result.safetySnapshot {
                print("saved what was replaced as snapshot \(safety.id.short) (tag pre-restore): 'kura restore \(safety.id.short) …' undoes this restore")
            }
            if let database = options.database {
                let rows = result.databaseTables.reduce(Int64(0)) { $0 + $1.rows }
                let checked = result.warnings.isEmpty ? ", row counts match the backup" : ""
                print("restored database \(database) from \(source.label): \(result.databaseTables.count) tables, \(rows) rows\(checked)")
            }
            printTrees(result)
        }
        let failed = trees.flatMap(\.failed).count
        if failed > 0 { throw KuraError.filesNotRestored(count: failed) }
    }

    /// One line per restored tree (--target, --media-to).
    func printTrees(_ result: SiteRestoreResult) {
        for (label, tree) in [("files to \(target ?? "")", result.tree), ("media to \(mediaTo ?? "")", result.media)] {
            guard let tree else { continue }
            print("restored \(label): \(tree.files) files, \(tree.directories) directories, \(tree.symlinks) symlinks "
                  + "(\(Format.bytes(tree.bytes))) in \(String(format: "%.2f", tree.durationSeconds)) s")
        }
    }
}

/// `kura restore --json`.
struct RestoreReport: Encodable {
    var result: SiteRestoreResult
    var snapshot: String

    enum CodingKeys: String, CodingKey {
        case snapshot, files, media, databaseTables = "database_tables", safetySnapshot = "safety_snapshot"
    }

    struct Tree: Encodable {
        var files: Int, directories: Int, symlinks: Int, bytes: Int64
        var failed: [UnreadablePath]
        var durationSeconds: Double

        init(_ result: RestoreResult) {
            files = result.files
            directories = result.directories
            symlinks = result.symlinks
            bytes = result.bytes
            failed = result.failed
            durationSeconds = result.durationSeconds
        }

        enum CodingKeys: String, CodingKey {
            case files, directories, symlinks, bytes, failed
            case durationSeconds = "duration_seconds"
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(snapshot, forKey: .snapshot)
        try container.encodeIfPresent(result.tree.map(Tree.init), forKey: .files)
        try container.encodeIfPresent(result.media.map(Tree.init), forKey: .media)
        try container.encode(result.databaseTables, forKey: .databaseTables)
        try container.encodeIfPresent(result.safetySnapshot?.id.hex, forKey: .safetySnapshot)
    }
}
