import Foundation

/// A Kura repository on a local filesystem: its config, packs, index files, snapshot records and
/// locks, plus the local cache that belongs to it. Every file except a lock is written once,
/// under its content hash, and never modified (docs/DESIGN.md).
public final class Repository {
    public let layout: RepositoryLayout
    public let config: RepositoryConfig
    /// `<cache root>/<repository id>`: the index cache and materialized snapshot databases.
    public let cacheDirectory: String
    private var indexCache: IndexCache?

    public var path: String { layout.root }

    private init(layout: RepositoryLayout, config: RepositoryConfig, cacheRoot: String) throws {
        self.layout = layout
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
        try FileSystem.list(layout.indexDirectory).compactMap { ChunkID(hex: $0) }
    }

    /// Reads and checks an index file (its name must be the SHA-256 of its bytes).
    public func readIndexFile(_ id: ChunkID) throws -> IndexFile {
        let bytes = try FileSystem.readFile(layout.index(id), limit: IndexFile.maxFileSize)
        guard SHA256Hasher.hash(bytes) == id,
              let index = bytes.withUnsafeBytes({ IndexFile.decode($0) }) else {
            throw KuraError.integrity(.indexFileDamaged(id: id.short))
        }
        return index
    }

    /// The index files that index file `id` supersedes, read from its header only. A file whose
    /// header is damaged supersedes nothing (verify and repair report it).
    func supersededBy(_ id: ChunkID) throws -> [ChunkID] {
        let path = layout.index(id)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open", path) }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KuraError.posix("cannot stat", path) }
        let ids = try? IndexFile.supersedes(fileSize: Int(info.st_size)) { offset, count -> [UInt8] in
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { try FileSystem.readFully(fd, into: $0, at: Int64(offset), path: path) }
            return bytes
        }
        return ids.flatMap { $0 } ?? []
    }

    /// Writes an index file durably and adds it to the local cache; returns its id and size.
    @discardableResult
    public func writeIndexFile(_ index: IndexFile) throws -> (id: ChunkID, size: Int) {
        let bytes = index.encoded()
        let id = SHA256Hasher.hash(bytes)
        try FileSystem.writeAtomically(bytes, to: layout.index(id), temporaryDirectory: layout.tmpDirectory,
                                       mode: layout.permissions.file)
        try self.index().add(index, id: id)
        return (id, bytes.count)
    }

    // MARK: Snapshots

    /// Every snapshot record, oldest first.
    public func snapshots() throws -> [Snapshot] {
        var result: [Snapshot] = []
        for name in try FileSystem.list(layout.snapshotsDirectory) {
            guard let id = ChunkID(hex: name) else { continue }
            result.append(try readSnapshot(id))
        }
        return result.sorted { ($0.record.epochSeconds, $0.id) < ($1.record.epochSeconds, $1.id) }
    }

    public func readSnapshot(_ id: ChunkID) throws -> Snapshot {
        let bytes = try FileSystem.readFile(layout.snapshot(id), limit: SnapshotRecord.maxFileSize)
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
        try FileSystem.writeAtomically(bytes, to: layout.snapshot(id), temporaryDirectory: layout.tmpDirectory,
                                       mode: layout.permissions.file)
        return Snapshot(id: id, record: record)
    }

    /// Resolves a snapshot reference (docs: "Snapshot references").
    public func resolve(_ reference: String) throws -> Snapshot {
        try SnapshotReference(reference).resolve(in: try snapshots())
    }

    // MARK: Packs

    public func listPacks() throws -> [ChunkID] {
        var packs: [ChunkID] = []
        for folder in try FileSystem.list(layout.dataDirectory) {
            packs += try FileSystem.list(layout.dataDirectory + "/" + folder).compactMap { ChunkID(hex: $0) }
        }
        return packs
    }

    /// Reads and checks a pack's trailer; also returns the pack's size.
    public func readPackTrailer(_ id: ChunkID) throws -> (entries: [PackEntry], size: UInt64) {
        let path = layout.pack(id)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw KuraError.integrity(.packMissing(pack: id.short)) }
            throw KuraError.posix("cannot open pack", path)
        }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KuraError.posix("cannot stat", path) }
        let size = UInt64(info.st_size)
        return (try PackFormat.readTrailer(fd: fd, size: size, path: path, name: id.short), size)
    }
}
