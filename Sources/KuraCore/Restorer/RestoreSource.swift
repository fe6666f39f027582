import Foundation

/// A file's content, streamed: it calls its argument once per block, in order, each block already
/// verified (a snapshot's chunks against their SHA-256, an archive member against its size).
public typealias ContentStream = ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

/// What a restore reads from: a snapshot in a repository (`SnapshotRestoreSource`) or a documented
/// archive (`ArchiveRestorer`). The site restore (`SiteRestorer`) and the restore test
/// (`RestoreTester`) are written once, against this protocol; both sources write trees through
/// the one `RestoreWriter`.
public protocol RestoreSource: AnyObject {
    /// "snapshot 1a2b3c4d" or the archive's path, for messages.
    var label: String { get }
    /// The database URL the dump was taken from, when the source records it (a restore test's
    /// default scratch database lives on that server).
    var originDatabase: String? { get }
    /// Checks what can be checked before anything else is read (an archive's hash against its
    /// JSON); returns warnings to show. `force` accepts what can only be accepted knowingly.
    func check(force: Bool) throws -> [String]
    /// The dump at the top of the tree (`database_<db>.sql` / `.sqlite3`) and its engine; nil when
    /// the source holds no database.
    func databaseDump() throws -> (entry: Entry, engine: DatabaseEngine)?
    /// Streams the dump's content.
    func readDump(_ body: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Every table with the rows it held at backup; nil when the source does not say (an archive
    /// exported before Kura wrote `"tables"` into its JSON).
    func recordedTables() throws -> [TableStatistics]?
    /// Calls `body` for every file below `subtree` in path order with a stream of its content
    /// (which `body` may leave unread).
    func forEachFile(under subtree: String, _ body: (Entry, ContentStream) throws -> Void) throws
    /// Existing paths below `options.target` that restoring the tree would replace.
    func conflicts(_ options: RestoreOptions) throws -> [String]
    /// Restores the tree (or the part `options` selects) into `options.target`; refuses to replace
    /// anything without `options.force`.
    func restoreTree(_ options: RestoreOptions, progress: ProgressCounter?, cancellation: CancellationFlag) throws -> RestoreResult
}

/// A snapshot as a restore source.
public final class SnapshotRestoreSource: RestoreSource {
    public let repository: Repository
    public let snapshot: Snapshot

    public init(repository: Repository, snapshot: Snapshot) {
        self.repository = repository
        self.snapshot = snapshot
    }

    public var label: String { "snapshot \(snapshot.id.short)" }

    public var originDatabase: String? { snapshot.record.paths.first { $0.hasPrefix("postgresql://") } }

    public func check(force: Bool) throws -> [String] { [] }

    public func databaseDump() throws -> (entry: Entry, engine: DatabaseEngine)? {
        guard let path = snapshot.record.databaseFile, let engine = snapshot.record.databaseEngine else { return nil }
        guard let entry = try repository.openSnapshot(snapshot).entry(path) else {
            throw KuraError.integrity(.missingDump(source: label, path: path))
        }
        return (entry, engine)
    }

    public func readDump(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let (entry, _) = try databaseDump() else { throw KuraError.noDatabase(source: label) }
        try contentReader(for: entry).forEachChunk(of: entry, body)
    }

    public func recordedTables() throws -> [TableStatistics]? {
        try repository.openSnapshot(snapshot).databaseTables()
    }

    public func forEachFile(under subtree: String, _ body: (Entry, ContentStream) throws -> Void) throws {
        let index = try repository.index()
        let chunkReader = ChunkReader(store: repository.store, cipher: repository.cipher)
        try repository.openSnapshot(snapshot).forEachEntry(under: subtree) { entry in
            guard entry.kind == .file else { return }
            try body(entry) { sink in
                try FileContentReader(reader: chunkReader, locations: try index.locations(entry.chunks)).forEachChunk(of: entry, sink)
            }
        }
    }

    public func conflicts(_ options: RestoreOptions) throws -> [String] {
        try Restorer(repository: repository).conflicts(snapshot, options)
    }

    public func restoreTree(_ options: RestoreOptions, progress: ProgressCounter?, cancellation: CancellationFlag) throws -> RestoreResult {
        try Restorer(repository: repository).restore(snapshot, options, progress: progress, cancellation: cancellation)
    }

    private func contentReader(for entry: Entry) throws -> FileContentReader {
        FileContentReader(reader: ChunkReader(store: repository.store, cipher: repository.cipher), locations: try repository.index().locations(entry.chunks))
    }
}
