import Foundation

/// What to back up and how to label it.
public struct BackupOptions: Sendable {
    /// The media folder (`MEDIA_ROOT`); stored under `media/` in the snapshot tree.
    public var media: String?
    /// The site's database; its dump is stored as `database_<db>.sql` (or `.sqlite3`).
    public var database: DatabaseURL?
    public var tags: [String]
    public var host: String
    /// Compression for new chunks; nil: the repository's default.
    public var compression: CompressionSetting?
    /// The snapshot's time (RFC 3339 with offset) instead of now: imported archives, `--time`.
    public var time: String?
    /// Read every file and dump the database even when the parent snapshot shows them unchanged.
    public var force: Bool
    /// A dump already on disk (an imported archive's) instead of dumping `database`.
    var existingDump: DatabaseDump?

    public init(media: String?, database: DatabaseURL? = nil, tags: [String] = [], host: String? = nil,
                compression: CompressionSetting? = nil, time: String? = nil, force: Bool = false) {
        self.media = media
        self.force = force
        self.time = time
        self.database = database
        self.tags = tags
        self.host = host ?? LockInfo.currentHost
        self.compression = compression
    }
}

/// A path a backup could not read.
public struct UnreadablePath: Equatable, Sendable, Codable {
    public var path: String
    public var reason: String
}

/// The outcome of a backup.
public struct BackupResult: Sendable {
    public var snapshot: Snapshot
    public var summary: BackupSummary
    /// Paths left out of the snapshot (exit code 3 when not empty).
    public var unreadable: [UnreadablePath]
    /// Things worth a line on the terminal (a parent that could not be used, stale locks...).
    public var notices: [String]
}

/// Backs sources up into a repository: source entries → chunks → packs → index → snapshot.
///
/// A reader thread walks and reads the source into batch buffers and cuts chunks; this thread
/// hashes and compresses each batch on all cores (`ChunkSaver`), then records the files in the
/// snapshot database. The snapshot database is then itself stored as chunks, the packs and
/// index files are made durable, and the snapshot record is written last.
public final class Archiver {
    private let repository: Repository
    /// Read buffers circulating between the reader and the archiver.
    static let batchCount = 3
    static let batchCapacity = 12 << 20

    public init(repository: Repository) { self.repository = repository }

    public func backup(_ options: BackupOptions, progress: ProgressCounter? = nil,
                       cancellation: CancellationFlag = CancellationFlag()) throws -> BackupResult {
        let started = Date()
        let time = options.time ?? Timestamp.now()
        guard options.media != nil || options.database != nil || options.existingDump != nil else {
            throw KuraError.invalidArgument("nothing to back up: give --media DIR and/or --database URL")
        }
        let mediaPath = options.media.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        if let mediaPath, !FileSystem.isDirectory(mediaPath) {
            throw KuraError.invalidArgument("media folder \(mediaPath) does not exist or is not a directory: check --media")
        }
        try cancellation.check()
        var notices: [String] = []
        let locator = options.existingDump?.locator ?? options.database?.locator
        let paths = (locator.map { [$0] } ?? []) + (mediaPath.map { [$0] } ?? [])
        let parent = try findParent(host: options.host, paths: paths, notices: &notices)
        // The database first: its dump is a file like any other from here on, unless the database
        // has not changed since the parent's dump (its state marker is read before dumping).
        let state = options.database.flatMap(DatabaseState.read)
        let reused = options.force ? nil : try parent.flatMap { try ReusedDump.fromParent($0.snapshot, reader: $0.reader, state: state) }
        // A new dump runs alongside the media folder's reading and is read after it.
        let dumping = reused != nil || options.existingDump != nil ? nil
            : options.database.map { DumpInProgress($0, temporaryDirectory: repository.layout.tmpDirectory) }
        defer {
            dumping?.removeFile()
            if let imported = options.existingDump { unlink(imported.file) }
        }
        let saver = try ChunkSaver(repository: repository, compression: options.compression ?? repository.compression)
        let workPath = repository.cacheDirectory + "/snapshots/build-" + FileSystem.randomName()
        let writer = try SnapshotWriter(workPath: workPath + ".work")
        var finished = false
        defer {
            if !finished {
                saver.abandon()
                writer.abandon()
                unlink(workPath)
            }
        }

        // Reader thread → this thread, through bounded queues of reusable batch buffers.
        let free = BoundedQueue<ChunkBatch>(capacity: Self.batchCount)
        let full = BoundedQueue<ChunkBatch>(capacity: Self.batchCount)
        for _ in 0..<Self.batchCount { free.push(ChunkBatch(capacity: Self.batchCapacity)) }
        let reader = BatchReader(mediaChunker: FastCDC(repository.config.chunker),
                                 dumpChunker: FastCDC(repository.config.chunkerForDumps), parent: options.force ? nil : parent.map { ParentSnapshot(reader: $0.reader) }, free: free, full: full,
                                 cancellation: cancellation, progress: progress)
        let readerDone = DispatchSemaphore(value: 0)
        let databaseSource: BackupSource? = reused.map(ReusedDumpSource.init)
            ?? options.existingDump.map { SingleFileSource(path: $0.file, snapshotPath: $0.snapshotPath) }
        // `database_…` sorts before `media`, but a dump in progress is read last (the snapshot
        // database takes entries in any order).
        let sources: [BackupSource] = (databaseSource.map { [$0] } ?? []) + (mediaPath.map { [MediaSource(root: $0)] } ?? [])
            + (dumping.map { [DumpInProgress.Source(dump: $0)] } ?? [])
        let thread = Thread {
            reader.run(sources)
            readerDone.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()

        var summary = BackupSummary()
        var unreadable: [UnreadablePath] = []
        var openFile: (entry: Entry, isNew: Bool)?
        do {
            while let batch = full.pop() {
                try cancellation.check()
                if let failure = dumping?.failure { throw failure }
                let ids = try saver.save(batch)
                var completed: [Entry] = []
                for event in batch.events {
                    switch event {
                    case .entry(let entry):
                        switch entry.kind {
                        case .directory: summary.directories += 1
                        case .symlink: summary.symlinks += 1
                        case .file:
                            summary.filesUnchanged += 1
                            summary.totalBytes += entry.size
                        }
                        completed.append(entry)
                    case .fileStart(let entry, let isNew):
                        openFile = (entry, isNew)
                        openFile?.entry.chunks = []
                    case .chunk(let index):
                        openFile?.entry.chunks.append(ids[index])
                    case .fileEnd(let size):
                        guard var file = openFile else { continue }
                        file.entry.size = size
                        if file.isNew { summary.filesNew += 1 } else { summary.filesChanged += 1 }
                        summary.totalBytes += size
                        summary.bytesRead += size
                        completed.append(file.entry)
                        openFile = nil
                    case .fileFailed(let path, let reason), .unreadable(let path, let reason):
                        unreadable.append(UnreadablePath(path: path, reason: reason))
                        if case .fileFailed = event { openFile = nil }
                    }
                }
                try writer.add(completed)
                free.push(batch)
            }
        } catch {
            free.close()
            full.close()
            readerDone.wait()
            throw error
        }
        readerDone.wait()
        if let failure = reader.failure { throw failure }
        try cancellation.check()
        let dump = try options.existingDump ?? dumping?.wait()

        // The snapshot database, stored as chunks like any file.
        var metadata: [String: String] = [
            "time": time, "host": options.host, "tags": Self.json(options.tags), "paths": Self.json(paths),
            "parent": parent?.snapshot.id.hex ?? "", "kura_version": KuraVersion.current,
            "chunker": String(decoding: (try? JSONEncoder.kura.encode(repository.config.chunker)) ?? Data(), as: UTF8.self),
        ]
        if let dump {
            metadata["database_engine"] = dump.engine.rawValue
            metadata["database_name"] = dump.name
            metadata["database_file"] = dump.snapshotPath
            metadata["database_server_version"] = dump.serverVersion
            metadata["database_dump_tool"] = dump.toolVersion
            metadata["dump_chunker"] = String(decoding: (try? JSONEncoder.kura.encode(repository.config.chunkerForDumps)) ?? Data(), as: UTF8.self)
            metadata["database_state"] = state
        }
        if let reused {
            metadata.merge(reused.metadata) { _, carried in carried }
            metadata["database_dumped_in"] = reused.dumpedIn
            summary.databaseDumpedIn = reused.dumpedIn
        }
        try writer.finish(metadata: metadata, tables: reused?.tables ?? dump?.tables ?? [], to: workPath)
        let tree = try MappedFile(path: workPath)
        let treeChunks = try saver.save(buffer: tree.bytes, chunker: FastCDC(repository.config.treeChunker))
        let treeSize = Int64(tree.bytes.count)
        tree.close()
        try saver.finish()

        summary.unreadable = unreadable.count
        summary.treeSize = treeSize
        summary.chunksAdded = saver.chunksAdded
        summary.dataAdded = saver.plainBytesAdded
        summary.durationSeconds = Date().timeIntervalSince(started)
        var record = SnapshotRecord(version: 1, time: time, host: options.host, tags: options.tags, paths: paths,
                                    database: dump?.name ?? reused?.metadata["database_name"],
                                    databaseEngine: dump?.engine ?? reused?.metadata["database_engine"].flatMap(DatabaseEngine.init(rawValue:)),
                                    parent: parent?.snapshot.id.hex, tree: .init(size: treeSize, chunks: treeChunks.map(\.hex)),
                                    kuraVersion: KuraVersion.current, summary: summary)
        // The record's own size counts as added; it is a few hundred bytes, estimated before writing.
        record.summary.dataAddedStored = saver.bytesWritten + Int64((try? JSONEncoder.kura.encode(record).count) ?? 0)
        let snapshot = try repository.writeSnapshot(record)
        finished = true
        // The database just built is this snapshot's: keep it in the cache.
        rename(workPath, repository.cachedSnapshotDatabasePath(snapshot.id))
        return BackupResult(snapshot: snapshot, summary: record.summary, unreadable: unreadable, notices: notices)
    }

    /// The latest snapshot of the same host and paths, if its chunks are all in the index.
    private func findParent(host: String, paths: [String], notices: inout [String]) throws -> (snapshot: Snapshot, reader: SnapshotReader)? {
        guard let candidate = try repository.snapshots().last(where: { $0.record.host == host && $0.record.paths == paths }) else {
            return nil
        }
        let reader = try repository.openSnapshot(candidate)
        let index = try repository.index()
        var missing = 0
        try ParentSnapshot.forEachChunkPage(of: reader) { page in
            missing += Set(page).subtracting(try index.contained(page)).count
        }
        guard missing == 0 else {
            notices.append("parent snapshot \(candidate.id.short) references \(missing) chunk(s) missing from the index: reading every file again (run 'kura verify')")
            return nil
        }
        return (candidate, reader)
    }

    private static func json(_ strings: [String]) -> String {
        String(decoding: (try? JSONEncoder.kura.encode(strings)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
