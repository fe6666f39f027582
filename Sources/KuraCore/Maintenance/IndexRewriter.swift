/// Replaces the repository's index files with new ones (prune, repair index), crash-safely:
/// the new files are written first, the last of them naming every old file as superseded; only
/// then are the old files deleted. Killed at any point, readers see either the old index or the
/// new one (DESIGN.md, invariant 17).
struct IndexRewriter {
    private let repository: Repository
    private let superseding: [ChunkID]
    private var pending: [IndexFile.PackIndex] = []
    private var pendingEntries = 0
    private(set) var filesWritten = 0
    private(set) var bytesWritten = 0
    /// A new index file is cut after this many entries (about 5 MB).
    static let entriesPerFile = 100_000

    /// `superseding`: every index file present now.
    init(repository: Repository, superseding: [ChunkID]) {
        self.repository = repository
        self.superseding = superseding
    }

    mutating func add(pack: ChunkID, entries: [PackEntry]) throws {
        pending.append(IndexFile.PackIndex(pack: pack, entries: entries))
        pendingEntries += entries.count
        if pendingEntries >= Self.entriesPerFile { try write(IndexFile(packs: pending)) }
    }

    /// Writes the last file (with the superseded list), then deletes the superseded files.
    mutating func finish() throws {
        try write(IndexFile(supersedes: superseding, packs: pending))
        try repository.store.delete(superseding.map(RepositoryLayout.indexName))
    }

    private mutating func write(_ file: IndexFile) throws {
        bytesWritten += try repository.writeIndexFile(file).size
        filesWritten += 1
        pending = []
        pendingEntries = 0
    }
}
