import Foundation

/// A Kura repository: its config, packs, index files, snapshot records and locks, plus the local
/// cache that belongs to it. Every object except a lock is written once, under its content hash,
/// and never modified (docs/DESIGN.md). Objects are read and written through `store`.
public final class Repository {
    /// Where the repository lives: a folder, an S3 bucket, an rclone remote.
    public let location: RepositoryLocation
    /// The repository's files on this machine: the repository itself when it is a folder; for a
    /// remote one, its local work folder in the cache (`<cache>/<id>/work`: `tmp/` for packs
    /// being written and dumps being spooled).
    public let layout: RepositoryLayout
    /// Where the objects live (the storage seam).
    public let store: ObjectStore
    public let config: RepositoryConfig
    /// `<cache root>/<repository id>`: the index cache and materialized snapshot databases.
    public let cacheDirectory: String
    /// What seals and opens stored objects in an encrypted repository; nil in a plain one.
    let cipher: RepositoryCipher?
    /// The key file that opened an encrypted repository (the key in use), and the master key.
    let unlockedKey: (id: String, masterKey: MasterKey)?
    private var indexCache: IndexCache?

    /// Whether the repository's objects are encrypted (docs/FORMAT.md, "Encryption").
    public var isEncrypted: Bool { cipher != nil }

    /// The location as the user wrote it (a path or a URL), for messages.
    public var path: String { location.description }
    /// Local folder for temp files: packs being written, dumps being spooled.
    public var temporaryDirectory: String { layout.tmpDirectory }

    /// The store for one reader walking files in order (export): with read-ahead on object
    /// storage (`ReadAheadStore`), the store itself on a disk. Parallel restores use `store`: their
    /// workers' interleaved reads would waste the windows (measured in docs/BENCHMARKS.md).
    func storeForSequentialReads() -> ObjectStore {
        location.isLocal ? store : ReadAheadStore(store)
    }

    private init(location: RepositoryLocation, layout: RepositoryLayout?, store: ObjectStore, config: RepositoryConfig,
                 cacheRoot: String, key: (id: String, masterKey: MasterKey)?) throws {
        self.location = location
        self.store = store
        self.config = config
        unlockedKey = key
        cipher = key.map { RepositoryCipher(masterKey: $0.masterKey) }
        cacheDirectory = cacheRoot + "/" + config.id
        try FileSystem.makeDirectories(cacheDirectory + "/snapshots")
        // A cache made by an earlier version may be readable by others: it holds snapshot databases.
        chmod(cacheDirectory, FilePermissions.ownerOnly.directory)
        if let layout {
            self.layout = layout
        } else {
            self.layout = RepositoryLayout(root: cacheDirectory + "/work")
            try FileSystem.makeDirectory(self.layout.root, mode: FilePermissions.ownerOnly.directory)
            try FileSystem.makeDirectory(self.layout.tmpDirectory, mode: FilePermissions.ownerOnly.directory)
        }
    }

    /// `$KURA_CACHE`, else `$XDG_CACHE_HOME/kura`, else `~/.cache/kura`.
    public static func defaultCacheRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let root = environment["KURA_CACHE"], !root.isEmpty { return root }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/kura" }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/kura"
    }

    /// Creates a repository in a new or empty directory; refuses anything else.
    @discardableResult
    public static func initialize(at path: String, config: RepositoryConfig = .new(), password: NewPassword? = nil,
                                  cacheRoot: String = defaultCacheRoot()) throws -> Repository {
        try initialize(.local(path: path), config: config, password: password, cacheRoot: cacheRoot)
    }

    /// Creates a repository at `location`: a new or empty folder, or a bucket prefix / remote
    /// path that holds no repository yet; refuses anything else. With `password`, an encrypted
    /// repository (its config made version 2 here) whose first key file holds a new master key.
    @discardableResult
    public static func initialize(_ location: RepositoryLocation, config: RepositoryConfig = .new(), password: NewPassword? = nil,
                                  cacheRoot: String = defaultCacheRoot(),
                                  environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Repository {
        var config = config
        // An encrypted repository: a new master key, its check in the config, its first key file.
        var keyFile: (id: String, bytes: [UInt8], masterKey: MasterKey)?
        if let password {
            let masterKey = MasterKey.generate()
            (config.version, config.encryption) = (RepositoryConfig.encryptedVersion, RepositoryConfig.encryptionAlgorithm)
            config.keyCheck = masterKey.check(repositoryID: config.id)
            let bytes = try KeyFile.wrap(masterKey, password: password.password, kdf: password.kdf, repositoryID: config.id).encoded()
            keyFile = (SHA256Hasher.hash(bytes).hex, bytes, masterKey)
        }
        try config.validate()
        let key = keyFile.map { (id: $0.id, masterKey: $0.masterKey) }
        guard case .local(let path) = location else {
            let store = try location.makeStore(environment: environment)
            do {
                for folder in ["snapshots", "index", "data", "keys"] where try !store.list(folder).isEmpty {
                    throw KuraError.repositoryNotEmpty(path: location.description)
                }
                guard try store.size(of: "config") == nil else { throw KuraError.repositoryNotEmpty(path: location.description) }
                if let keyFile { try store.write(keyFile.bytes, as: RepositoryLayout.keyName(keyFile.id)) }
                // The config is written last: a prefix without it is not a repository.
                try store.write(try [UInt8](JSONEncoder.kura.encode(config)), as: "config")
            } catch KuraError.storage(_, _, 404, "NoSuchBucket") {
                throw KuraError.noBucket(location: location.description)
            }
            return try Repository(location: location, layout: nil, store: store, config: config, cacheRoot: cacheRoot, key: key)
        }
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
        let store = LocalObjectStore(root: path, permissions: layout.permissions)
        if let keyFile { try store.write(keyFile.bytes, as: RepositoryLayout.keyName(keyFile.id)) }
        // The config is written last: a directory without it is not a repository.
        try FileSystem.writeAtomically(try [UInt8](JSONEncoder.kura.encode(config)), to: layout.config,
                                       temporaryDirectory: layout.tmpDirectory, mode: layout.permissions.file)
        return try Repository(location: location, layout: layout, store: store, config: config, cacheRoot: cacheRoot, key: key)
    }

    /// Opens an existing repository in a folder; `.noRepository` when `path` holds none.
    public static func open(at path: String, credentials: Credentials? = nil, cacheRoot: String = defaultCacheRoot()) throws -> Repository {
        try open(.local(path: path), credentials: credentials, cacheRoot: cacheRoot)
    }

    /// Opens an existing repository; `.noRepository` (or `.noBucket`) when `location` holds none.
    /// An encrypted one is unlocked with `credentials` (a password is asked for only then);
    /// without them, `.noPassword`.
    public static func open(_ location: RepositoryLocation, credentials: Credentials? = nil, cacheRoot: String = defaultCacheRoot(),
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Repository {
        let layout: RepositoryLayout?
        let store: ObjectStore
        let bytes: [UInt8]
        if case .local(let path) = location {
            let local = RepositoryLayout(root: path, permissions: .matching(config: RepositoryLayout(root: path).config))
            guard let read = try? FileSystem.readFile(local.config, limit: RepositoryConfig.maxFileSize) else { throw KuraError.noRepository(path: path) }
            (layout, store, bytes) = (local, LocalObjectStore(root: path, permissions: local.permissions), read)
            // A copy that kept no empty folder lacks `tmp/` and `locks/` (invariant 47). On a
            // read-only disk they cannot be made, and reading needs neither: a lock says so.
            try? local.makeWorkFolders()
        } else {
            store = try location.makeStore(environment: environment)
            layout = nil
            do {
                bytes = try store.read("config", limit: RepositoryConfig.maxFileSize)
            } catch KuraError.io(_, _, ENOENT) {
                throw KuraError.noRepository(path: location.description)
            } catch KuraError.storage(_, _, 404, "NoSuchBucket") {
                throw KuraError.noBucket(location: location.description)
            }
        }
        let config: RepositoryConfig
        do {
            config = try JSONDecoder().decode(RepositoryConfig.self, from: Data(bytes))
        } catch {
            throw KuraError.unsupportedFormat("\(location)/config is not a Kura config (\(error))")
        }
        try config.validate()
        let key = try unlock(store, config: config, credentials: credentials, location: location.description,
                             hintFile: cacheRoot + "/" + config.id + "/key-hint")
        return try Repository(location: location, layout: layout, store: store, config: config, cacheRoot: cacheRoot, key: key)
    }

    /// The default compression for new chunks.
    public var compression: CompressionSetting {
        (try? CompressionSetting(parsing: config.compression)) ?? .default
    }

    /// Takes a shared (backup, restore, verify) or exclusive (forget, prune, repair) lock,
    /// waiting up to `wait` seconds for a conflicting one to go.
    public func lock(exclusive: Bool, wait: TimeInterval = 0) throws -> RepositoryLock {
        try RepositoryLock.acquire(wait: wait) {
            location.isLocal ? try RepositoryLock.acquire(layout, exclusive: exclusive)
                             : try RemoteLocks.acquire(in: store, exclusive: exclusive)
        }
    }

    /// Removes the locks no running process holds (`kura unlock`); with `all`, every lock.
    /// One line per removed lock.
    public func removeLocks(all: Bool) throws -> [String] {
        location.isLocal ? try RepositoryLock.removeLocks(layout, all: all) : try RemoteLocks.removeLocks(in: store, all: all)
    }

    /// Removes what killed runs left: local temp files (not lock files being made) and, in a
    /// remote repository, upload staging objects under `tmp/`. Only under an exclusive lock.
    /// Returns how many were removed.
    func removeLeftovers() throws -> Int {
        var removed = 0
        for name in try FileSystem.list(layout.tmpDirectory) where !name.hasPrefix("lock-") {
            try FileSystem.delete(layout.tmpDirectory + "/" + name)
            removed += 1
        }
        if !location.isLocal {
            let staging = try store.list("tmp").map { "tmp/" + $0 }
            try store.delete(staging)
            removed += staging.count
        }
        return removed
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

    /// Reads and checks an index file (its name must be the SHA-256 of its stored bytes).
    public func readIndexFile(_ id: ChunkID) throws -> IndexFile {
        let stored = try store.read(RepositoryLayout.indexName(id), limit: IndexFile.maxFileSize)
        guard SHA256Hasher.hash(stored) == id, let bytes = open(stored),
              let index = bytes.withUnsafeBytes({ IndexFile.decode($0) }) else {
            throw KuraError.integrity(.indexFileDamaged(id: id.short))
        }
        return index
    }

    /// Whether index file `id` still holds the bytes it was named for. The cache keeps what an
    /// index file said when it was loaded, so verify reads every file again with this (a hash
    /// per file, no decoding: about a second per 10 million entries).
    func indexFileIsIntact(_ id: ChunkID) -> Bool {
        guard let stored = try? store.read(RepositoryLayout.indexName(id), limit: IndexFile.maxFileSize) else { return false }
        return SHA256Hasher.hash(stored) == id
    }

    /// A whole object as it is stored: sealed in an encrypted repository, else as it is.
    func seal(_ bytes: [UInt8]) -> [UInt8] {
        cipher?.seal(bytes) ?? bytes
    }

    /// A stored object's content; nil when an encrypted one does not open (altered, or sealed
    /// under another key).
    func open(_ stored: [UInt8]) -> [UInt8]? {
        guard let cipher else { return stored }
        return cipher.open(stored)
    }

    /// The index files that index file `id` supersedes, read from its header only. A file whose
    /// header is damaged supersedes nothing (verify and repair report it).
    func supersededBy(_ id: ChunkID) throws -> [ChunkID] {
        // A sealed file opens only whole: the index cache loads it whole instead, and asks here
        // only for one that did not open, which supersedes nothing (verify reports it).
        if isEncrypted { return [] }
        let name = RepositoryLayout.indexName(id)
        guard let size = try store.size(of: name) else { throw KuraError.io(operation: "cannot open", path: path + "/" + name, errno: ENOENT) }
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
        let bytes = seal(index.encoded())
        let id = SHA256Hasher.hash(bytes)
        try store.write(bytes, as: RepositoryLayout.indexName(id))
        try self.index().add(index, id: id)
        return (id, bytes.count)
    }

    // MARK: Snapshots

    /// Every snapshot record, oldest first.
    public func snapshots() throws -> [Snapshot] {
        var result: [Snapshot] = []
        let names = try store.list("snapshots")
        for name in names {
            guard let id = ChunkID(hex: name) else { continue }
            result.append(try readSnapshot(id))
        }
        if !location.isLocal {
            // Records of snapshots forgotten meanwhile (by this host or another) leave the cache.
            let listed = Set(names)
            for cached in (try? FileSystem.list(recordCache)) ?? [] where !listed.contains(cached) { unlink(recordCache + "/" + cached) }
        }
        return result.sorted { ($0.record.epochSeconds, $0.id) < ($1.record.epochSeconds, $1.id) }
    }

    /// `<cache>/records`: copies of a remote repository's snapshot records (immutable, named by
    /// their hash), so that listing 300 nights costs one LIST request and not 300 GETs.
    private var recordCache: String { cacheDirectory + "/records" }

    /// Reads and checks a snapshot record. In a remote repository the local copy is used when it
    /// is there and still matches its name, unless `useCache` is false (verify reads the stored one).
    public func readSnapshot(_ id: ChunkID, useCache: Bool = true) throws -> Snapshot {
        let cached = recordCache + "/" + id.hex
        let remote = !location.isLocal
        if remote && useCache, let local = try? FileSystem.readFile(cached, limit: SnapshotRecord.maxFileSize), SHA256Hasher.hash(local) == id {
            return try decodeSnapshot(id, local)
        }
        let bytes = try store.read(RepositoryLayout.snapshotName(id), limit: SnapshotRecord.maxFileSize)
        guard SHA256Hasher.hash(bytes) == id else {
            throw KuraError.integrity(.snapshotRecordDamaged(id: id.short, reason: "does not match its name"))
        }
        cacheRecord(bytes, id: id)
        return try decodeSnapshot(id, bytes)
    }

    /// Keeps a copy of a remote repository's snapshot record in `<cache>/records` (best effort: the
    /// copy is checked against its name before use).
    private func cacheRecord(_ bytes: [UInt8], id: ChunkID) {
        guard !location.isLocal else { return }
        try? FileSystem.makeDirectory(recordCache, mode: FilePermissions.ownerOnly.directory)
        try? FileSystem.writeAtomically(bytes, to: recordCache + "/" + id.hex, temporaryDirectory: layout.tmpDirectory,
                                        mode: FilePermissions.ownerOnly.file)
    }

    /// A snapshot record whose stored bytes already match `id`.
    private func decodeSnapshot(_ id: ChunkID, _ stored: [UInt8]) throws -> Snapshot {
        guard let bytes = open(stored) else {
            throw KuraError.integrity(.snapshotRecordDamaged(id: id.short, reason: "does not decrypt (altered, or not this repository's)"))
        }
        do {
            return Snapshot(id: id, record: try JSONDecoder().decode(SnapshotRecord.self, from: Data(bytes)))
        } catch {
            throw KuraError.integrity(.snapshotRecordDamaged(id: id.short, reason: "is unreadable (\(error))"))
        }
    }

    /// Publishes a snapshot record: the last write of a backup.
    func writeSnapshot(_ record: SnapshotRecord) throws -> Snapshot {
        let bytes = seal(try [UInt8](JSONEncoder.kura.encode(record)))
        let id = SHA256Hasher.hash(bytes)
        try store.write(bytes, as: RepositoryLayout.snapshotName(id))
        cacheRecord(bytes, id: id)
        return Snapshot(id: id, record: record)
    }

    /// Resolves a snapshot reference (docs: "Snapshot references").
    /// An id or id prefix is matched against the names in `snapshots/` and only its record is
    /// read: a million files' record lists a few thousand tree chunks, and reading all of them
    /// to restore one file cost a few milliseconds per night kept.
    public func resolve(_ reference: String) throws -> Snapshot {
        let parsed = SnapshotReference(reference)
        guard parsed.namesAnID else { return try parsed.resolve(in: try snapshots()) }
        return try readSnapshot(try parsed.resolve(among: try store.list("snapshots").compactMap { ChunkID(hex: $0) }))
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
        let entries = try PackFormat.trailer(packSize: size, name: id.short, cipher: cipher) { offset, count in
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { try store.read(name, at: offset, into: $0) }
            return bytes
        }
        return (entries, size)
    }
}
