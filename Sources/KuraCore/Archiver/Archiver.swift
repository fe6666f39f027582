import Foundation

/// What to back up and how to label it.
public struct BackupOptions: Sendable {
    /// The media folders: the first (`MEDIA_ROOT`) is stored under `media/` in the snapshot
    /// tree, each further one under `media_<its folder name>/` (`BackupPlan.mediaNames`).
    public var mediaFolders: [String]
    /// The site's databases; each dump is stored as `database_<db>.sql` (or `.sqlite3`). The
    /// first is the snapshot's database (its name is the export archive's).
    public var databases: [DatabaseURL]
    /// What the media folders' walk leaves out.
    public var exclusions: ExclusionRules
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
        self.init(mediaFolders: media.map { [$0] } ?? [], databases: database.map { [$0] } ?? [], tags: tags, host: host,
                  compression: compression, time: time, force: force)
    }

    public init(mediaFolders: [String], databases: [DatabaseURL], exclusions: ExclusionRules = ExclusionRules(),
                tags: [String] = [], host: String? = nil, compression: CompressionSetting? = nil, time: String? = nil,
                force: Bool = false) {
        self.mediaFolders = mediaFolders
        self.databases = databases
        self.exclusions = exclusions
        self.force = force
        self.time = time
        self.tags = tags
        self.host = host ?? LockInfo.currentHost
        self.compression = compression
    }

    /// The first media folder.
    public var media: String? { mediaFolders.first }
    /// The first database.
    public var database: DatabaseURL? { databases.first }
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

/// Backs sources up into a repository: source entries → chunks → packs → index → snapshot, in
/// four phases:
///
/// 1. plan (`BackupPlan`): the paths, the parent snapshot, the database dump (reused, imported or
///    started now on its own thread);
/// 2. read and save: a reader thread walks and reads the sources into batch buffers and cuts
///    chunks; this thread hashes and compresses each batch on all cores (`ChunkSaver`), and
///    records its files (`EntryAssembler`) in the snapshot database;
/// 3. describe: the snapshot database's metadata and tables;
/// 4. publish: the snapshot database stored as chunks, packs and index files made durable, the
///    snapshot record written last.
public final class Archiver {
    private let repository: Repository
    /// Read buffers circulating between the reader and the archiver.
    static let batchCount = 3
    static let batchCapacity = 8 << 20

    public init(repository: Repository) { self.repository = repository }

    public func backup(_ options: BackupOptions, progress: ProgressCounter? = nil,
                       cancellation: CancellationFlag = CancellationFlag()) throws -> BackupResult {
        do {
            return try backup(options, parentAllowed: true, progress: progress, cancellation: cancellation)
        } catch let untrusted as UntrustedParent {
            var result = try backup(options, parentAllowed: false, progress: progress, cancellation: cancellation)
            result.notices.insert("parent snapshot \(untrusted.parent.short) references \(untrusted.missing) chunk(s) missing from the index: "
                                  + "every file was read again (run 'kura verify')", at: 0)
            return result
        }
    }

    /// A parent whose chunks are not all indexed: its chunk lists cannot be reused.
    private struct UntrustedParent: Error {
        let parent: ChunkID
        let missing: Int
    }

    private func backup(_ options: BackupOptions, parentAllowed: Bool, progress: ProgressCounter?,
                        cancellation: CancellationFlag) throws -> BackupResult {
        let started = Date()
        let plan = try BackupPlan(options, repository: repository, parentAllowed: parentAllowed)
        defer { plan.removeDumpFiles() }
        try cancellation.check()
        let saver = try ChunkSaver(repository: repository, compression: options.compression ?? repository.compression)
        let workPath = repository.cacheDirectory + "/snapshots/build-" + FileSystem.randomName()
        let writer = try SnapshotWriter(workPath: workPath + ".work")
        var published = false
        defer {
            if !published {
                saver.abandon()
                writer.abandon()
                unlink(workPath)
            }
        }
        let assembler = try readAndSave(plan, saver: saver, writer: writer, progress: progress, cancellation: cancellation)
        let dump = try options.existingDump ?? plan.dumping?.wait()
        if let check = plan.parentCheck, let parent = plan.parent {
            let missing = try check.missingChunks()
            if missing > 0 { throw UntrustedParent(parent: parent.snapshot.id, missing: missing) }
        }
        try writer.finish(metadata: plan.metadata(dump: dump, config: repository.config),
                          tables: plan.reusedDump?.tables ?? dump?.tables ?? [], to: workPath)
        let snapshot = try publish(plan, dump: dump, tree: workPath, saver: saver, assembler: assembler, started: started)
        published = true
        // The database just built is this snapshot's: keep it in the cache. Every chunk it
        // references is indexed (found in the cache, written now, or the checked parent's): the
        // next backup need not check them again.
        rename(workPath, repository.cachedSnapshotDatabasePath(snapshot.id))
        try? repository.index().recordChecked(snapshot: snapshot.id)
        return BackupResult(snapshot: snapshot, summary: snapshot.record.summary, unreadable: assembler.unreadable, notices: plan.notices)
    }

    /// Phase 2: the reader thread fills batches from the plan's sources; this thread saves each
    /// batch's chunks and records its completed entries. Returns the assembled counts.
    private func readAndSave(_ plan: BackupPlan, saver: ChunkSaver, writer: SnapshotWriter, progress: ProgressCounter?,
                             cancellation: CancellationFlag) throws -> EntryAssembler {
        // Reader thread → this thread, through bounded queues of reusable batch buffers.
        let free = BoundedQueue<ChunkBatch>(capacity: Self.batchCount)
        let full = BoundedQueue<ChunkBatch>(capacity: Self.batchCount)
        for _ in 0..<Self.batchCount { free.push(ChunkBatch(capacity: Self.batchCapacity)) }
        let reader = BatchReader(mediaChunker: FastCDC(repository.config.chunker), dumpChunker: FastCDC(repository.config.chunkerForDumps),
                                 parent: plan.parentForComparison, free: free, full: full, cancellation: cancellation, progress: progress)
        let readerDone = DispatchSemaphore(value: 0)
        let sources = plan.sources
        let thread = Thread {
            reader.run(sources)
            readerDone.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()

        var assembler = EntryAssembler()
        do {
            while let batch = full.pop() {
                try cancellation.check()
                if let failure = plan.databases.lazy.compactMap({ $0.dumping?.failure }).first { throw failure }
                let ids = try saver.save(batch)
                try writer.add(assembler.assemble(batch.events, ids: ids))
                // Its chunks may still be on their way into packs: it is reused once they are in.
                saver.whenStored { free.push(batch) }
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
        return assembler
    }

    /// Phase 4: stores the snapshot database `tree` as chunks, makes packs and index files
    /// durable, then writes the snapshot record.
    private func publish(_ plan: BackupPlan, dump: DatabaseDump?, tree workPath: String, saver: ChunkSaver,
                         assembler: EntryAssembler, started: Date) throws -> Snapshot {
        let tree = try MappedFile(path: workPath)
        let treeChunks = try saver.save(buffer: tree.bytes, chunker: FastCDC(repository.config.treeChunker)) { tree.release(before: $0) }
        let treeSize = Int64(tree.bytes.count)
        tree.close()
        try saver.finish()

        var summary = assembler.summary
        summary.unreadable = assembler.unreadable.count
        summary.treeSize = treeSize
        summary.chunksAdded = saver.chunksAdded
        summary.dataAdded = saver.plainBytesAdded
        summary.databaseDumpedIn = plan.reusedDump?.dumpedIn
        summary.durationSeconds = Date().timeIntervalSince(started)
        let reused = plan.reusedDump?.metadata
        var record = SnapshotRecord(version: 1, time: plan.time, host: plan.options.host, tags: plan.options.tags, paths: plan.paths,
                                    database: dump?.name ?? reused?["database_name"],
                                    databaseEngine: dump?.engine ?? reused?["database_engine"].flatMap(DatabaseEngine.init(rawValue:)),
                                    parent: plan.parent?.snapshot.id.hex, tree: .init(size: treeSize, chunks: treeChunks.map(\.hex)),
                                    kuraVersion: KuraVersion.current, summary: summary)
        // The record's own size counts as added; it is a few hundred bytes, estimated before writing.
        record.summary.dataAddedStored = saver.bytesWritten + Int64((try? JSONEncoder.kura.encode(record).count) ?? 0)
        return try repository.writeSnapshot(record)
    }
}
