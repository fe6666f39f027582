/// What prune will do, decided before anything is written (restic's `PlanPrune`): `--dry-run`
/// prints it, and `Pruner.execute` carries out exactly it.
public struct PrunePlan {
    /// Packs no snapshot uses: deleted.
    public internal(set) var delete: [ChunkID] = []
    /// Packs whose unused share exceeds `--max-unused`: their live chunks copied, then deleted.
    public internal(set) var repack: [PackUsage] = []
    /// Packs kept as they are.
    public internal(set) var keep: [ChunkID] = []
    /// Packs on disk in no index file (left by killed backups or prunes): deleted.
    public internal(set) var unreferenced: [ChunkID] = []
    /// The index files replaced (those listing a deleted or repacked pack, and small ones merged).
    var indexRewrite = IndexRewritePlan(contents: [:], present: [], changed: [])
    /// The figures before, and those after as planned.
    public internal(set) var report = PruneReport()
    /// Stored bytes of the kept packs.
    var keptBytes: Int64 = 0
    /// The referenced chunks, which repacking copies.
    let usage: ChunkUsage

    init(usage: ChunkUsage) { self.usage = usage }
}
