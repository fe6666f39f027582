import Foundation

/// Phase 1 of a backup, decided before anything is read: the paths recorded, the parent snapshot
/// (whose unchanged files are not read again), and the database dump — reused from the parent
/// when the database has not changed, taken from an imported archive, or started now on a
/// thread of its own.
struct BackupPlan {
    let options: BackupOptions
    /// The snapshot's time.
    let time: String
    /// The media folders, absolute and standardized, with their names in the snapshot tree.
    let media: [(path: String, name: String)]
    /// What the snapshot records as its sources: the databases' locators, then the media folders.
    let paths: [String]
    let parent: (snapshot: Snapshot, reader: SnapshotReader)?
    /// Whether the parent's chunks are all indexed, answered while the backup runs; nil without a
    /// parent or when the index cache already knows the answer (`IndexCache.isChecked`).
    let parentCheck: ParentCheck?
    /// Each database: its state, and its dump reused from the parent or running now. The first
    /// is the snapshot's database.
    let databases: [DatabasePlan]
    /// Things worth a line on the terminal.
    var notices: [String] = []

    /// One database of the backup.
    struct DatabasePlan {
        let url: DatabaseURL
        /// `database_<name>.<ext>`.
        let file: String
        /// The database's state marker, read before dumping (`DatabaseState`).
        let state: String?
        /// The parent's dump, carried over unchanged.
        let reused: ReusedDump?
        /// A dump running alongside the media folders' reading.
        let dumping: DumpInProgress?
    }

    /// `parentAllowed: false` plans without a parent (after one failed its `ParentCheck`).
    init(_ options: BackupOptions, repository: Repository, parentAllowed: Bool = true) throws {
        guard !options.mediaFolders.isEmpty || !options.databases.isEmpty || options.existingDump != nil else { throw KuraError.nothingToBackUp }
        let folders = options.mediaFolders.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        for path in folders where !FileSystem.isDirectory(path) { throw KuraError.mediaFolderMissing(path: path) }
        media = try zip(folders, Self.mediaNames(folders)).map { ($0, $1) }
        let files = try Self.databaseFiles(options.databases)
        self.options = options
        time = options.time ?? Timestamp.now()
        let locators = options.existingDump.map { [$0.locator] } ?? options.databases.map(\.locator)
        paths = locators + folders
        parent = parentAllowed ? try Self.findParent(repository, host: options.host, paths: paths) : nil
        parentCheck = try parent.flatMap { parent in
            let index = try repository.index()
            return try index.isChecked(snapshot: parent.snapshot.id) ? nil : ParentCheck(snapshotDatabase: parent.reader.path, index: index)
        }
        // Each database first: its dump is a file like any other from here on, unless the database
        // has not changed since the parent's dump (its state marker is read before dumping).
        databases = try zip(options.databases, files).enumerated().map { [parent] index, item in
            let (url, file) = item
            let state = DatabaseState.read(url)
            let reused = options.force ? nil : try parent.flatMap {
                try ReusedDump.fromParent($0.snapshot, reader: $0.reader, state: state, file: index == 0 ? nil : file)
            }
            let dumping = reused != nil || (index == 0 && options.existingDump != nil) ? nil
                : DumpInProgress(url, temporaryDirectory: repository.temporaryDirectory)
            return DatabasePlan(url: url, file: file, state: state, reused: reused, dumping: dumping)
        }
    }

    /// The first database's state marker.
    var databaseState: String? { databases.first?.state }
    /// The first database's dump, when carried over from the parent.
    var reusedDump: ReusedDump? { databases.first?.reused }
    /// The first database's dump in progress.
    var dumping: DumpInProgress? { databases.first?.dumping }

    /// The names of media folders in the snapshot tree: `media` for the first, `media_<folder
    /// name>` for each further one (characters other than letters, digits, `.`, `_`, `-` as `_`).
    static func mediaNames(_ folders: [String]) throws -> [String] {
        let names = folders.enumerated().map { index, path in
            index == 0 ? "media" : "media_" + String(FileSystem.name(of: path).map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        }
        if let clash = Dictionary(grouping: zip(names, folders), by: \.0).first(where: { $0.value.count > 1 }) {
            throw KuraError.invalidArgument("media folders \(clash.value.map(\.1).joined(separator: " and ")) would both be stored as \(clash.key)/: rename one")
        }
        return names
    }

    /// Each database's file in the snapshot tree; two databases must not share one.
    static func databaseFiles(_ databases: [DatabaseURL]) throws -> [String] {
        let files = try databases.map { "database_\(try $0.name).\($0.engine.dumpExtension)" }
        if let clash = Dictionary(grouping: zip(files, databases), by: \.0).first(where: { $0.value.count > 1 }) {
            throw KuraError.invalidArgument("databases \(clash.value.map { "\($0.1)" }.joined(separator: " and ")) would both be stored as \(clash.key): back them up in separate snapshots")
        }
        return files
    }

    /// What the reader thread reads, in order. `database_…` sorts before `media`, but dumps in
    /// progress are read last (the snapshot database takes entries in any order).
    var sources: [BackupSource] {
        var sources: [BackupSource] = []
        if let imported = options.existingDump { sources.append(SingleFileSource(path: imported.file, snapshotPath: imported.snapshotPath)) }
        sources += databases.compactMap { $0.reused.map(ReusedDumpSource.init) }
        sources += media.map { MediaSource(root: $0.path, prefix: $0.name, exclusions: options.exclusions) }
        sources += databases.compactMap { $0.dumping.map { DumpInProgress.Source(dump: $0) } }
        return sources
    }

    /// The parent to compare files with; nil with `--force`.
    var parentForComparison: ParentSnapshot? { options.force ? nil : parent.map { ParentSnapshot(reader: $0.reader) } }

    /// The snapshot database's metadata table.
    func metadata(dump: DatabaseDump?, config: RepositoryConfig) throws -> [String: String] {
        var metadata: [String: String] = [
            "time": time, "host": options.host, "tags": Self.json(options.tags), "paths": Self.json(paths),
            "parent": parent?.snapshot.id.hex ?? "", "kura_version": KuraVersion.current,
            "chunker": Self.json(config.chunker),
        ]
        if let dump {
            metadata["database_engine"] = dump.engine.rawValue
            metadata["database_name"] = dump.name
            metadata["database_file"] = dump.snapshotPath
            metadata["database_server_version"] = dump.serverVersion
            metadata["database_dump_tool"] = dump.toolVersion
            metadata["dump_chunker"] = Self.json(config.chunkerForDumps)
            metadata["database_state"] = databaseState
        }
        if let reusedDump {
            metadata.merge(reusedDump.metadata) { _, carried in carried }
            metadata["database_dumped_in"] = reusedDump.dumpedIn
        }
        if databases.count > 1 {
            metadata["extra_databases"] = Self.json(try databases.dropFirst().map { database -> ExtraDatabase in
                if let extra = database.reused?.extra { return extra }
                guard let dump = try database.dumping?.wait() else { throw KuraError.database(.dumpUnfinished) }
                return ExtraDatabase(name: dump.name, engine: dump.engine, file: dump.snapshotPath, state: database.state,
                                     dumpedIn: nil, serverVersion: dump.serverVersion, dumpTool: dump.toolVersion)
            })
        }
        return metadata
    }

    /// Removes the files the plan's dumps left (dumps in progress, an imported archive's dump).
    func removeDumpFiles() {
        for database in databases { database.dumping?.removeFile() }
        if let imported = options.existingDump { unlink(imported.file) }
    }

    /// The latest snapshot of the same host and paths (its chunks are checked by `parentCheck`).
    private static func findParent(_ repository: Repository, host: String, paths: [String]) throws -> (snapshot: Snapshot, reader: SnapshotReader)? {
        guard let candidate = try repository.snapshots().last(where: { $0.record.host == host && $0.record.paths == paths }) else {
            return nil
        }
        return (candidate, try repository.openSnapshot(candidate))
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder.kura.encode(value)) ?? Data(), as: UTF8.self)
    }
}
