import Foundation

/// Phase 1 of a backup, decided before anything is read: the paths recorded, the parent snapshot
/// (whose unchanged files are not read again), and the database dump — reused from the parent
/// when the database has not changed, taken from an imported archive, or started now on a
/// thread of its own.
struct BackupPlan {
    let options: BackupOptions
    /// The snapshot's time.
    let time: String
    /// The media folder, absolute and standardized.
    let mediaPath: String?
    /// What the snapshot records as its sources: the database's locator, then the media folder.
    let paths: [String]
    let parent: (snapshot: Snapshot, reader: SnapshotReader)?
    /// The database's state marker, read before dumping (`DatabaseState`).
    let databaseState: String?
    /// The parent's dump, carried over unchanged.
    let reusedDump: ReusedDump?
    /// A dump running alongside the media folder's reading.
    let dumping: DumpInProgress?
    /// Things worth a line on the terminal.
    var notices: [String] = []

    init(_ options: BackupOptions, repository: Repository) throws {
        guard options.media != nil || options.database != nil || options.existingDump != nil else { throw KuraError.nothingToBackUp }
        let mediaPath = options.media.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        if let mediaPath, !FileSystem.isDirectory(mediaPath) { throw KuraError.mediaFolderMissing(path: mediaPath) }
        self.options = options
        self.mediaPath = mediaPath
        time = options.time ?? Timestamp.now()
        let locator = options.existingDump?.locator ?? options.database?.locator
        paths = (locator.map { [$0] } ?? []) + (mediaPath.map { [$0] } ?? [])
        var notices: [String] = []
        parent = try Self.findParent(repository, host: options.host, paths: paths, notices: &notices)
        self.notices = notices
        // The database first: its dump is a file like any other from here on, unless the database
        // has not changed since the parent's dump (its state marker is read before dumping).
        databaseState = options.database.flatMap(DatabaseState.read)
        reusedDump = options.force ? nil
            : try parent.flatMap { [databaseState] in try ReusedDump.fromParent($0.snapshot, reader: $0.reader, state: databaseState) }
        dumping = reusedDump != nil || options.existingDump != nil ? nil
            : options.database.map { DumpInProgress($0, temporaryDirectory: repository.temporaryDirectory) }
    }

    /// What the reader thread reads, in order. `database_…` sorts before `media`, but a dump in
    /// progress is read last (the snapshot database takes entries in any order).
    var sources: [BackupSource] {
        let database: BackupSource? = reusedDump.map(ReusedDumpSource.init)
            ?? options.existingDump.map { SingleFileSource(path: $0.file, snapshotPath: $0.snapshotPath) }
        return (database.map { [$0] } ?? []) + (mediaPath.map { [MediaSource(root: $0)] } ?? [])
            + (dumping.map { [DumpInProgress.Source(dump: $0)] } ?? [])
    }

    /// The parent to compare files with; nil with `--force`.
    var parentForComparison: ParentSnapshot? { options.force ? nil : parent.map { ParentSnapshot(reader: $0.reader) } }

    /// The snapshot database's metadata table.
    func metadata(dump: DatabaseDump?, config: RepositoryConfig) -> [String: String] {
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
        return metadata
    }

    /// Removes the files the plan's dumps left (a dump in progress, an imported archive's dump).
    func removeDumpFiles() {
        dumping?.removeFile()
        if let imported = options.existingDump { unlink(imported.file) }
    }

    /// The latest snapshot of the same host and paths, if its chunks are all in the index.
    private static func findParent(_ repository: Repository, host: String, paths: [String],
                                   notices: inout [String]) throws -> (snapshot: Snapshot, reader: SnapshotReader)? {
        guard let candidate = try repository.snapshots().last(where: { $0.record.host == host && $0.record.paths == paths }) else {
            return nil
        }
        let reader = try repository.openSnapshot(candidate)
        let index = try repository.index()
        var missing = 0
        try ParentSnapshot.forEachChunkPage(of: reader) { page in
            missing += try index.missingCount(page)
        }
        guard missing == 0 else {
            notices.append("parent snapshot \(candidate.id.short) references \(missing) chunk(s) missing from the index: reading every file again (run 'kura verify')")
            return nil
        }
        return (candidate, reader)
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder.kura.encode(value)) ?? Data(), as: UTF8.self)
    }
}
