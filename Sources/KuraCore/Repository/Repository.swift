import Foundation

/// A Kura repository: its config, packs, index files, snapshot records and locks, plus the local
/// cache that belongs to it. Every object except a lock is written once, under its content hash,
/// and never modified (docs/DESIGN.md). Objects are read and written through `store`.
public final class Repository {
    public let layout: RepositoryLayout
    /// Where the objects live (the storage seam); a folder today.
    public let store: ObjectStore
    public let config: RepositoryConfig
    /// `<cache root>/<repository id>`: the index cache and materialized snapshot databases.
    public let cacheDirectory: String
    private var indexCache: IndexCache?

    public var path: String { layout.root }

    private init(layout: RepositoryLayout, config: RepositoryConfig, cacheRoot: String) throws {
        self.layout = layout
        store = LocalObjectStore(root: layout.root, permissions: layout.permissions)
        self.config = config
        cacheDirectory = cacheRoot + "/" + config.id
        try FileSystem.makeDirectories(cacheDirectory + "/snapshots")
        // A cache made by an earlier version may be readable by others: it holds snapshot databases.
        chmod(cacheDirectory, FilePermissions.ownerOnly.directory)
    }

    /// `$KURA_CACHE`, else `$XDG_CACHE_HOME/kura`, else `~/.cache/kura`.
    public static func defaultCacheRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let root = environment["KURA_CACHE"], !root.isEmpty { return root }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/kura" }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/kura"
    }

    /// Creates a repository in a new or empty directory; refuses anything else.
    @discardableResult
    public static func initialize(at path: String, config: RepositoryConfig = .new(),
                                  cacheRoot: String = defaultCacheRoot()) throws -> Repository {
        try config.validate()
        let layout = RepositoryLayout(root: path)
        if FileSystem.exists(path) {
            guard FileSystem.isDirectory(path) else { throw KuraError.repositoryNotEmpty(path: path) }
            guard try FileSystem.list(path).isEmpty else { throw KuraError.repositoryNotEmpty(path: path) }
        } else {
            try FileSystem.makeDirectories(path)
        }
        // An empty folder made beforehand becomes owner-only too: the repository holds the whole site.
        if chmod(path, layout.permissions.directory) != 0 { throw KuraError.posix("cannot set the mode of", path) }
        for directory in layout.directories { try FileSystem.makeDirectory(directory, mode: layout.permissions.directory) }
        // The config is written last: a directory without it is not a repository.
        try FileSystem.writeAtomically(try [UInt8](JSONEncoder.kura.encode(config)), to: layout.config,
                                       temporaryDirectory: layout.tmpDirectory, mode: layout.permissions.file)
        return try Repository(layout: layout, config: config, cacheRoot: cacheRoot)
    }

    /// Opens an existing repository; `.noRepository` when `path` holds none.
    public static func open(at path: String, cacheRoot: String = defaultCacheRoot()) throws -> Repository {
        let layout = RepositoryLayout(root: path, permissions: .matching(config: RepositoryLayout(root: path).config))
        guard let bytes = try? FileSystem.readFile(layout.config, limit: RepositoryConfig.maxFileSize) else { throw KuraError.noRepository(path: path) }
        let config: RepositoryConfig
        do {
            config = try JSONDecoder().decode(RepositoryConfig.self, from: Data(bytes))
        } catch {
            throw KuraError.unsupportedFormat("\(layout.config) is not a Kura config (\(error))")
        }
        try config.validate()
        return try Repository(layout: layout, config: config, cacheRoot: cacheRoot)
    }

    /// The default compression for new chunks.
    public var compression: CompressionSetting {
        (try? CompressionSetting(parsing: config.compression)) ?? .default
    }

    /// Takes a shared (backup, restore, verify) or exclusive (forget, prune, repair) lock,
    /// waiting up to `wait` seconds for a conflicting one to go.
    public func lock(exclusive: Bool, wait: TimeInterval = 0) throws -> RepositoryLock {
        try RepositoryLock.acquire(layout, exclusive: exclusive, wait: wait)
    }

    // MARK: Index

    /// The local index cache, synchronized with `index/` on first use in this process.
    public func index() throws -> IndexCache {
        if let indexCache { return indexCache }
        let cache = try IndexCache(path: cacheDirectory + "/index.sqlite")
        try cache.synchronize(with: self)
        indexCache = cache
        return cache
    }

    public func listIndexFiles() throws -> [ChunkID] {
        try store.list("index").compactMap { ChunkID(hex: $0) }
    }

    /// Reads and checks an index file (its name must be the SHA-256 of its bytes).
    public func readIndexFile(_ id: ChunkID) throws -> IndexFile {
        let bytes = try store.read(RepositoryLayout.indexName(id), limit: IndexFile.maxFileSize)
        guard SHA256Hasher.hash(bytes) == id,
              let index = bytes.withUnsafeBytes({ IndexFile.decode($0) }) else {
            throw KuraError.integrity(.indexFileDamaged(id: id.short))
        }
        return index
    }

    /// The index files that index file `id` supersedes, read from its header only. A file whose
    /// header is damaged supersedes nothing (verify and repair report it).
    func supersededBy(_ id: ChunkID) throws -> [ChunkID] {
        let name = RepositoryLayout.indexName(id)
        guard let size = try store.size(of: name) else { throw KuraError.io(operation: "cannot open", path: layout.root + "/" + name, errno: ENOENT) }
        let ids = try? IndexFile.supersedes(fileSize: Int(size)) { offset, count -> [UInt8] in
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { try store.read(name, at: Int64(offset), into: $0) }
            return bytes
        }
        return ids.flatMap { $0 } ?? []
    }

    /// Writes an index file durably and adds it to the local cache; returns its id and size.
    @discardableResult
    public func writeIndexFile(_ index: IndexFile) throws -> (id: ChunkID, size: Int) {
        let bytes = index.encoded()
        let id = SHA256Hasher.hash(bytes)
        try store.write(bytes, as: RepositoryLayout.indexName(id))
        try self.index().add(index, id: id)
        return (id, bytes.count)
    }

    // MARK: Snapshots

    /// Every snapshot record, oldest first.
    public func snapshots() throws -> [Snapshot] {
        var result: [Snapshot] = []
        for name in try store.list("snapshots") {
            guard let id = ChunkID(hex: name) else { continue }
            result.append(try readSnapshot(id))
        }
        return result.sorted { ($0.record.epochSeconds, $0.id) < ($1.record.epochSeconds, $1.id) }
    }

    public func readSnapshot(_ id: ChunkID) throws -> Snapshot {
        let bytes = try store.read(RepositoryLayout.snapshotName(id), limit: SnapshotRecord.maxFileSize)
        guard SHA256Hasher.hash(bytes) == id else {
            throw KuraError.integrity(.snapshotRecordDamaged(id: id.short, reason: "does not match its name"))
        }
        do {
            return Snapshot(id: id, record: try JSONDecoder().decode(SnapshotRecord.self, from: Data(bytes)))
        } catch {
            throw KuraError.integrity(.snapshotRecordDamaged(id: id.short, reason: "is unreadable (\(error))"))
        }
    }

    /// Publishes a snapshot record: the last write of a backup.
    func writeSnapshot(_ record: SnapshotRecord) throws -> Snapshot {
        let bytes = try [UInt8](JSONEncoder.kura.encode(record))
        let id = SHA256Hasher.hash(bytes)
        try store.write(bytes, as: RepositoryLayout.snapshotName(id))
        return Snapshot(id: id, record: record)
    }

    /// Resolves a snapshot reference (docs: "Snapshot references").
    public func resolve(_ reference: String) throws -> Snapshot {
        try SnapshotReference(reference).resolve(in: try snapshots())
    }

    // MARK: Packs

    public func listPacks() throws -> [ChunkID] {
        var packs: [ChunkID] = []
        for folder in try store.list("data") {
            packs += try store.list("data/" + folder).compactMap { ChunkID(hex: $0) }
        }
        return packs
    }

    /// Reads and checks a pack's trailer; also returns the pack's size.
    public func readPackTrailer(_ id: ChunkID) throws -> (entries: [PackEntry], size: UInt64) {
        let name = RepositoryLayout.packName(id)
        guard let size = try store.size(of: name).map(UInt64.init) else { throw KuraError.integrity(.packMissing(pack: id.short)) }
        let entries = try PackFormat.trailer(packSize: size, name: id.short) { offset, count in
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { try store.read(name, at: offset, into: $0) }
            return bytes
        }
        return (entries, size)
    }
}
