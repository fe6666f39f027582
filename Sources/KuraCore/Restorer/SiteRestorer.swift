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

    /// Tables whose restored row count differs from the recorded one.
    static func between(recorded: [TableStatistics], restored: [TableStatistics]) -> [TableMismatch] {
        let actual = Dictionary(restored.map { ($0.qualifiedName, $0.rows) }, uniquingKeysWith: { first, _ in first })
        return recorded.compactMap { table in
            let rows = actual[table.qualifiedName].flatMap { $0 >= 0 ? $0 : nil }
            return rows == table.rows ? nil : TableMismatch(table: table.qualifiedName, expected: table.rows, actual: rows)
        }
    }
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

/// Restores a site — database and media — from a snapshot or an archive (any `RestoreSource`),
/// safely, in this order:
///
/// 1. refuse: nothing that holds data is replaced without `force` (exit 13);
/// 2. spool the dump, every block verified, before the target database is touched;
/// 3. save what is about to be replaced as a `pre-restore` snapshot (when there is a repository);
/// 4. restore the database and compare every table's row count with the one recorded at backup;
/// 5. restore the media folder in place, then the tree as files.
public final class SiteRestorer {
    /// Receives the pre-restore snapshot and spools a PostgreSQL dump in its `tmp/`; nil: no
    /// safety snapshot (an archive restored without a repository).
    private let repository: Repository?

    public init(repository: Repository?) { self.repository = repository }

    /// What the restore would replace, one line each (empty: nothing). The source is checked
    /// first (an archive against its JSON), so that nobody is asked about a damaged archive.
    public func conflicts(_ source: RestoreSource, _ options: SiteRestoreOptions) throws -> [String] {
        _ = try source.check(force: options.force)
        var found: [String] = []
        for tree in [options.treeOptions, options.mediaOptions].compactMap({ $0 }) {
            let paths = try source.conflicts(tree)
            if !paths.isEmpty { found.append("\(paths.count) path(s) in \(tree.target), e.g. \(paths[0])") }
        }
        if let database = options.database, let tables = try Self.databaseObjects(database), tables > 0 {
            found.append("database \(database) (\(tables) object(s))")
        }
        return found
    }

    public func restore(_ source: RestoreSource, _ options: SiteRestoreOptions, progress: ProgressCounter? = nil,
                        cancellation: CancellationFlag = CancellationFlag()) throws -> SiteRestoreResult {
        guard options.target != nil || options.mediaTo != nil || options.database != nil else { throw KuraError.nothingToRestore }
        var result = SiteRestoreResult()
        // The source first: nothing is read further from an archive that does not match its JSON.
        result.warnings = try source.check(force: options.force)
        let replaced = try refuseUnconfirmed(source, options)

        let dump = try options.database.map { try DumpSpool(from: source, for: $0, repository: repository) }
        defer { dump?.remove() }
        try cancellation.check()

        if options.safetySnapshot && (replaced.media || replaced.database), let repository {
            let safety = BackupOptions(media: replaced.media ? options.mediaTo : nil, database: replaced.database ? options.database : nil,
                                       tags: [SnapshotReference.safetyTag])
            result.safetySnapshot = try Archiver(repository: repository).backup(safety, cancellation: cancellation).snapshot
        }
        if let database = options.database, let dump {
            result.databaseTables = try dump.restore(into: database, force: true)
            if let recorded = dump.recordedTables {
                let mismatches = TableMismatch.between(recorded: recorded, restored: result.databaseTables)
                if !mismatches.isEmpty { throw KuraError.integrity(.rowCounts(database: "\(database)", mismatches)) }
            } else {
                result.warnings.append("\(source.label) records no row counts (exported before Kura wrote them): the restored tables were not counted against the backup")
            }
        }
        if var media = options.mediaOptions {
            media.force = true  // refused above unless confirmed; saved in the safety snapshot
            result.media = try source.restoreTree(media, progress: progress, cancellation: cancellation)
        }
        if let tree = options.treeOptions {
            result.tree = try source.restoreTree(tree, progress: progress, cancellation: cancellation)
        }
        return result
    }

    /// Throws `wouldOverwrite` / `databaseNotEmpty` unless `force`; says what will be replaced.
    private func refuseUnconfirmed(_ source: RestoreSource, _ options: SiteRestoreOptions) throws -> (media: Bool, database: Bool) {
        let mediaConflicts = try options.mediaOptions.map { try source.conflicts($0) } ?? []
        let databaseObjects = try options.database.map { try Self.databaseObjects($0) ?? 0 } ?? 0
        if !options.force {
            let trees = [try options.treeOptions.map { ($0, try source.conflicts($0)) }, options.mediaOptions.map { ($0, mediaConflicts) }]
            for case let (tree, existing)? in trees where !existing.isEmpty {
                throw KuraError.wouldOverwrite(count: existing.count, examples: existing, target: tree.target)
            }
            if databaseObjects > 0, let database = options.database {
                throw KuraError.databaseNotEmpty(database: "\(database)", tables: databaseObjects)
            }
        }
        return (!mediaConflicts.isEmpty, databaseObjects > 0)
    }

    /// Objects in the target database: nil when it does not exist.
    static func databaseObjects(_ url: DatabaseURL) throws -> Int? {
        switch url.engine {
        case .postgresql: return try PostgresRestorer.objectCount(url)
        case .sqlite: return SQLiteRestorer.tableCount(url)
        }
    }
}

extension SiteRestorer {
    /// A site restore from a snapshot of the repository this restorer was made with.
    public func restore(_ snapshot: Snapshot, _ options: SiteRestoreOptions, progress: ProgressCounter? = nil,
                        cancellation: CancellationFlag = CancellationFlag()) throws -> SiteRestoreResult {
        try restore(try snapshotSource(snapshot), options, progress: progress, cancellation: cancellation)
    }

    /// What a restore of `snapshot` would replace.
    public func conflicts(_ snapshot: Snapshot, _ options: SiteRestoreOptions) throws -> [String] {
        try conflicts(try snapshotSource(snapshot), options)
    }

    private func snapshotSource(_ snapshot: Snapshot) throws -> SnapshotRestoreSource {
        guard let repository else { throw KuraError.invalidArgument("a snapshot restore needs its repository") }
        return SnapshotRestoreSource(repository: repository, snapshot: snapshot)
    }
}
