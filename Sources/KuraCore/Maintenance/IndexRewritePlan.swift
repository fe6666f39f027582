/// Which index files a prune replaces (DESIGN.md, invariant 45): only those that list a pack it
/// deletes or repacks — their other packs are listed again in the new files — and, once there
/// are enough of them to be worth it, the small files that every backup leaves (a compaction).
/// Every other index file stays as it is: a prune that frees 1 % of a large repository writes
/// and reads back a few index files, not the whole index.
struct IndexRewritePlan: Sendable {
    /// Index files the new ones supersede: the rewritten ones and any present file that was
    /// already superseded (left by a prune killed before it deleted them).
    var superseded: [ChunkID] = []
    /// The packs of the rewritten files that stay, listed again (from the cache) in the new files.
    var keptPacks: [ChunkID] = []
    /// How many of the rewritten files were merged only because they were small.
    var compacted = 0
    /// Index files left as they are.
    var untouched = 0

    /// An index file with fewer entries than this is small (a backup of a quiet night writes one).
    static let smallFileEntries = IndexRewriter.entriesPerFile / 2
    /// Small index files are merged when at least this many would be.
    static let compactionThreshold = 10

    var isEmpty: Bool { superseded.isEmpty }

    /// - Parameters:
    ///   - contents: each effective index file's packs and entry counts (`IndexCache.indexFileContents`).
    ///   - present: every index file in the repository.
    ///   - changed: the packs prune deletes or repacks.
    init(contents: [ChunkID: [(pack: ChunkID, entries: Int)]], present: [ChunkID], changed: Set<ChunkID>) {
        var rewritten = Set<ChunkID>()
        var small: [ChunkID] = []
        var smallRewritten = 0
        for (file, packs) in contents {
            let isSmall = packs.reduce(0, { $0 + $1.entries }) < Self.smallFileEntries
            if packs.contains(where: { changed.contains($0.pack) }) {
                rewritten.insert(file)
                if isSmall { smallRewritten += 1 }
            } else if isSmall {
                small.append(file)
            }
        }
        // Merging is worth it only with something to merge into, or many small files.
        if small.count + smallRewritten >= Self.compactionThreshold {
            rewritten.formUnion(small)
            compacted = small.count
        }
        let leftovers = Set(present).subtracting(contents.keys)
        guard !rewritten.isEmpty else { return }
        superseded = rewritten.union(leftovers).sorted()
        keptPacks = Set(rewritten.flatMap { contents[$0] ?? [] }.map(\.pack)).subtracting(changed).sorted()
        untouched = contents.count - rewritten.count
    }
}
