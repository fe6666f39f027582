import Foundation

/// What a site restore does: any of the tree as files (`target`), the media folder in place
/// (`mediaTo`), the database (`database`).
public struct SiteRestoreOptions: Sendable {
    public var target: String?
    public var mediaTo: String?
    public var database: DatabaseURL?
    public var include: [PathPattern]
    /// Replace existing files and a non-empty database without asking.
    public var force: Bool
    /// Take a `pre-restore` snapshot of what is about to be replaced.
    public var safetySnapshot: Bool

    public init(target: String? = nil, mediaTo: String? = nil, database: DatabaseURL? = nil, include: [PathPattern] = [],
                force: Bool = false, safetySnapshot: Bool = true) {
        self.target = target
        self.mediaTo = mediaTo
        self.database = database
        self.include = include
        self.force = force
        self.safetySnapshot = safetySnapshot
    }

    var treeOptions: RestoreOptions? { target.map { RestoreOptions(target: $0, include: include, force: force) } }
    var mediaOptions: RestoreOptions? { mediaTo.map { RestoreOptions(target: $0, include: include, force: force, subtree: "media") } }
}

/// A restored database table whose row count differs from the one recorded at backup.
public struct TableMismatch: Equatable, Sendable {
    public var table: String
    public var expected: Int64
    /// nil: the table is missing.
    public var actual: Int64?
}

/// The outcome of a site restore.
public struct SiteRestoreResult: Sendable {
    public var tree: RestoreResult?
    public var media: RestoreResult?
    /// The tables checked after the database restore.
    public var databaseTables: [TableStatistics] = []
    /// The snapshot taken of what was replaced (tag `pre-restore`), if one was needed.
    public var safetySnapshot: Snapshot?
    /// Things the user should know (an archive restored without a JSON to check it against).
    public var warnings: [String] = []
}

/// Restores a site — database and media — from a snapshot, safely: every chunk is verified before
/// the target database is touched; nothing that holds data is replaced without `force`; what is
/// replaced is first saved as a `pre-restore` snapshot; the restored tables' row counts are
/// compared with those recorded at backup.
public final class SiteRestorer {
    private let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    /// What the restore would replace, one line each (empty: nothing).
    public func conflicts(_ snapshot: Snapshot, _ options: SiteRestoreOptions) throws -> [String] {
        let restorer = Restorer(repository: repository)
        var found: [String] = []
        for tree in [options.treeOptions, options.mediaOptions].compactMap({ $0 }) {
            let paths = try restorer.conflicts(snapshot, tree)
            if !paths.isEmpty { found.append("\(paths.count) path(s) in \(tree.target), e.g. \(paths[0])") }
        }
        if let database = options.database, let tables = try Self.databaseObjects(database), tables > 0 {
            found.append("database \(database) (\(tables) object(s))")
        }
        return found
    }

    public func restore(_ snapshot: Snapshot, _ options: SiteRestoreOptions, progress: ProgressCounter? = nil,
                        cancellation: CancellationFlag = CancellationFlag()) throws -> SiteRestoreResult {
        guard options.target != nil || options.mediaTo != nil || options.database != nil else {
            throw KuraError.invalidArgument("nothing to restore to: give --target DIR, --media-to DIR and/or --database URL")
        }
        let restorer = Restorer(repository: repository)
        var result = SiteRestoreResult()
        // Refuse before anything is written.
        let replacesMedia = try options.mediaOptions.map { try !restorer.conflicts(snapshot, $0).isEmpty } ?? false
        let databaseHasData = try options.database.map { (try Self.databaseObjects($0) ?? 0) > 0 } ?? false
        if !options.force {
            for tree in [options.treeOptions, options.mediaOptions].compactMap({ $0 }) {
                let existing = try restorer.conflicts(snapshot, tree)
                if !existing.isEmpty { throw KuraError.wouldOverwrite(count: existing.count, examples: existing, target: tree.target) }
            }
            if databaseHasData, let database = options.database {
                throw KuraError.databaseNotEmpty(database: "\(database)", tables: try Self.databaseObjects(database) ?? 0)
            }
        }

        // The database's dump, read and verified before the target database is touched.
        var dump: (file: String, tables: [TableStatistics])?
        defer { if let dump { unlink(dump.file) } }
        if let database = options.database {
            dump = try extractDump(snapshot, for: database)
        }
        try cancellation.check()

        if options.safetySnapshot && (replacesMedia || databaseHasData) {
            let safety = BackupOptions(media: replacesMedia ? options.mediaTo : nil, database: databaseHasData ? options.database : nil,
                                       tags: [SnapshotReference.safetyTag])
            result.safetySnapshot = try Archiver(repository: repository).backup(safety, cancellation: cancellation).snapshot
        }

        if let database = options.database, let dump {
            let restoredTables: [TableStatistics]
            switch database.engine {
            case .postgresql:
                try PostgresRestorer.restore(dump: dump.file, into: database, force: true)
                let counts = try PostgresRestorer.rowCounts(database, tables: dump.tables)
                restoredTables = zip(dump.tables, counts).map { table, rows in
                    var restored = table
                    restored.rows = rows ?? -1
                    return restored
                }
            case .sqlite:
                restoredTables = try SQLiteRestorer.restore(copy: dump.file, into: database, force: true)
            }
            result.databaseTables = restoredTables
            let mismatches = Self.compare(recorded: dump.tables, restored: restoredTables)
            if !mismatches.isEmpty {
                let list = mismatches.map { "\($0.table): \($0.actual.map(String.init) ?? "missing") rows, \($0.expected) at backup" }
                throw KuraError.integrity("restored database \(database) differs from the snapshot: \(list.joined(separator: "; "))")
            }
        }
        if let media = options.mediaOptions {
            var forced = media
            forced.force = true
            result.media = try restorer.restore(snapshot, forced, progress: progress, cancellation: cancellation)
        }
        if let tree = options.treeOptions {
            var forced = tree
            forced.force = options.force
            result.tree = try restorer.restore(snapshot, forced, progress: progress, cancellation: cancellation)
        }
        return result
    }

    /// Tables whose restored row count differs from the recorded one.
    static func compare(recorded: [TableStatistics], restored: [TableStatistics]) -> [TableMismatch] {
        let actual = Dictionary(restored.map { ($0.qualifiedName, $0.rows) }, uniquingKeysWith: { first, _ in first })
        return recorded.compactMap { table in
            let rows = actual[table.qualifiedName].flatMap { $0 >= 0 ? $0 : nil }
            return rows == table.rows ? nil : TableMismatch(table: table.qualifiedName, expected: table.rows, actual: rows)
        }
    }

    /// Objects in the target database: nil when it does not exist.
    static func databaseObjects(_ url: DatabaseURL) throws -> Int? {
        switch url.engine {
        case .postgresql: return try PostgresRestorer.objectCount(url)
        case .sqlite: return SQLiteRestorer.tableCount(url)
        }
    }

    /// Writes the snapshot's dump to a temp file (PostgreSQL: the repository's `tmp/`; SQLite:
    /// beside the target, for the final rename), every chunk verified.
    func extractDump(_ snapshot: Snapshot, for database: DatabaseURL) throws -> (file: String, tables: [TableStatistics]) {
        guard let path = snapshot.record.databaseFile, let engine = snapshot.record.databaseEngine else {
            throw KuraError.invalidArgument("snapshot \(snapshot.id.short) holds no database: restore it with --target or --media-to")
        }
        guard engine == database.engine else {
            throw KuraError.invalidArgument("snapshot \(snapshot.id.short) holds a \(engine.rawValue) database; \(database) is \(database.engine.rawValue)")
        }
        let reader = try repository.openSnapshot(snapshot)
        guard let entry = try reader.entry(path) else { throw KuraError.integrity("snapshot \(snapshot.id.short) lacks its dump \(path)") }
        let directory: String
        if engine == .sqlite, let target = database.path {
            directory = FileSystem.parent(of: target)
            try FileSystem.makeDirectories(directory)
        } else {
            directory = repository.layout.tmpDirectory
        }
        let file = directory + "/.kura-restore-" + FileSystem.randomName()
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KuraError.posix("cannot create", file) }
        do {
            defer { close(fd) }
            let writer = FileRestorer(reader: ChunkReader(layout: repository.layout), locations: try repository.index().locations(entry.chunks))
            try writer.forEachChunk(of: entry) { try FileSystem.writeFully(fd, $0, path: file) }
            if fsync(fd) != 0 { throw KuraError.posix("cannot sync", file) }
            if engine == .sqlite { fchmod(fd, mode_t(entry.mode)) }
        } catch {
            unlink(file)
            throw error
        }
        return (file, try reader.databaseTables())
    }
}
