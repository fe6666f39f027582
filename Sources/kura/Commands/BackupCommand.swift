import ArgumentParser
import Foundation
import KuraCore

struct BackupCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the site's database and media folder into a new snapshot.",
        discussion: """
            --database takes postgresql://user@host:port/db (libpq URI; password from the URL, PGPASSWORD \
            or ~/.pgpass) or sqlite:///path/db.sqlite3; without it, $DATABASE_URL is used when set. \
            When the database has not changed since the parent snapshot's dump (no transaction ended on the \
            PostgreSQL server and no sequence moved; the same SQLite file), that dump is reused instead of \
            dumping again; --force dumps and reads every file regardless.

            --exclude patterns follow restic's: each part between slashes matches one path component with \
            shell wildcards (*, ?, [abc]), ** matches any number of components; a pattern starting with / \
            matches the absolute path, any other the end of a path (*.tmp, cache, thumbnails/*.jpg). A \
            folder that matches is left out with everything under it.

            Exit 3 when the snapshot was saved but some files could not be read (they are listed).
            """)

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .append }
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("A media folder (MEDIA_ROOT) to back up (repeatable: the first is stored as media/, the next as media_<name>/).",
                               valueName: "DIR"))
    var media: [String] = []

    @Option(help: ArgumentHelp("A database URL (repeatable; default: $DATABASE_URL).", valueName: "URL"))
    var database: [DatabaseURL] = []

    @OptionGroup var exclusions: ExclusionOptions

    @Flag(help: "Do not back up $DATABASE_URL.")
    var noDatabase = false

    @Option(name: .customLong("tag"), help: "A tag for the snapshot (repeatable).")
    var tags: [String] = []

    @Option(help: "Host name recorded in the snapshot (default: this host).")
    var host: String?

    @Option(help: ArgumentHelp("Compression for new chunks: zstd[:1-19], zlib[:1-9] or none (default: the repository's).",
                               valueName: "CODEC[:LEVEL]"))
    var compression: CompressionSetting?

    @Option(help: ArgumentHelp("Record this time instead of now: 'YYYY-MM-DD HH:MM:SS' (local) or RFC 3339.", valueName: "TIME"))
    var time: String?

    @Flag(help: "Dump the database and read every file even when the parent snapshot shows them unchanged.")
    var force = false

    @Option(help: ArgumentHelp("Then copy the new snapshot to this repository too (as 'kura copy'): a path, s3:… or rclone:….",
                               valueName: "REPO2"))
    var copyTo: String?

    @OptionGroup var copyPassword: DestinationPasswordOptions

    /// `--database`, else `$DATABASE_URL` unless `--no-database`.
    var databaseURLs: [DatabaseURL] {
        get throws {
            if noDatabase { return [] }
            if !database.isEmpty { return database }
            guard let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else { return [] }
            do {
                return [try DatabaseURL(text)]
            } catch {
                throw ValidationError("$DATABASE_URL: \(error)")
            }
        }
    }

    func validate() throws {
        guard try !media.isEmpty || !databaseURLs.isEmpty else {
            throw ValidationError("nothing to back up: give --media DIR and/or --database URL")
        }
        if let time, Timestamp.fromUser(time) == nil {
            throw ValidationError("--time '\(time)': write it as 'YYYY-MM-DD HH:MM:SS' or RFC 3339")
        }
    }

    func run() throws {
        try withRepository { repo in
            let options = BackupOptions(mediaFolders: media, databases: try databaseURLs, exclusions: try exclusions.rules,
                                        tags: tags, host: host, compression: compression,
                                        time: time.flatMap(Timestamp.fromUser), force: force)
            let result = try Terminal.withProgress("backed up") { counter, cancellation in
                try Archiver(repository: repo).backup(options, progress: counter, cancellation: cancellation)
            }
            result.notices.forEach(Terminal.notice)
            for path in result.unreadable { Terminal.notice("could not read \(path.path): \(path.reason)") }
            let summary = result.summary
            if output.json {
                try Terminal.printJSON(BackupReport(snapshot: result.snapshot, summary: summary, unreadable: result.unreadable))
            } else {
                print("""
                    Files: \(summary.filesNew) new, \(summary.filesChanged) changed, \(summary.filesUnchanged) unchanged; \
                    \(summary.directories) directories\(summary.databaseDumpedIn.map { "\nDatabase unchanged since the dump of snapshot \($0.prefix(8)): reused" } ?? "")
                    Read \(Format.bytes(summary.bytesRead)) of \(Format.bytes(summary.totalBytes)); \
                    added \(Format.bytes(summary.dataAdded)) of new data, \(Format.bytes(summary.dataAddedStored)) stored \
                    in \(String(format: "%.2f", summary.durationSeconds)) s
                    snapshot \(result.snapshot.id.short) saved\(result.unreadable.isEmpty ? "" : " (\(result.unreadable.count) path(s) could not be read)")
                    """)
            }
            if let copyTo {
                do {
                    let copied = try CopyCommand.copy(from: repo, to: copyTo, [result.snapshot.id.hex],
                                                      credentials: copyPassword.credentials(for: copyTo, otherwise: repository.password),
                                                      wait: repository.retryLock?.approximateInterval ?? 0)
                    if !output.json { print(CopyCommand.describe(copied, to: copyTo)) }
                } catch {
                    Terminal.notice("snapshot \(result.snapshot.id.short) is saved in \(repo.path), but not copied to \(copyTo): "
                                    + "'kura copy --to \(copyTo)' sends it once the cause below is fixed")
                    throw error
                }
            }
            if !result.unreadable.isEmpty { throw ExitCode(3) }
        }
    }
}

/// `kura backup --json`.
struct BackupReport: Encodable {
    var snapshot: Snapshot
    var summary: BackupSummary
    var unreadable: [UnreadablePath]

    enum CodingKeys: String, CodingKey {
        case snapshotID = "snapshot_id", time, parent, summary, unreadable
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(snapshot.id.hex, forKey: .snapshotID)
        try container.encode(snapshot.record.time, forKey: .time)
        try container.encode(snapshot.record.parent, forKey: .parent)
        try container.encode(summary, forKey: .summary)
        try container.encode(unreadable, forKey: .unreadable)
    }
}

/// `--exclude`, `--exclude-file`, `--exclude-caches`, `--one-file-system`, as restic takes them.
struct ExclusionOptions: ParsableArguments {
    @Option(name: .customLong("exclude"),
            help: ArgumentHelp("Leave out files and folders matching PATTERN (repeatable; see 'kura help backup').", valueName: "PATTERN"))
    var patterns: [String] = []

    @Option(name: .customLong("exclude-file"), help: ArgumentHelp("Read exclude patterns from FILE, one per line (repeatable).", valueName: "FILE"))
    var files: [String] = []

    @Flag(help: "Leave out folders holding a CACHEDIR.TAG file.")
    var excludeCaches = false

    @Flag(name: [.customShort("x"), .long], help: "Do not cross into other file systems (mount points are kept, empty).")
    var oneFileSystem = false

    var rules: ExclusionRules {
        get throws {
            let all = try patterns + files.flatMap { try ExclusionRules.patterns(fromFile: $0) }
            for pattern in all {
                if let problem = ExclusionRules.problem(with: pattern) { throw ValidationError("--exclude '\(pattern)': \(problem)") }
            }
            return ExclusionRules(patterns: all, excludeCaches: excludeCaches, oneFileSystem: oneFileSystem)
        }
    }
}
