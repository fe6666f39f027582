/// What prune did (or, with `dryRun`, would do).
public struct PruneReport: Sendable, Encodable {
    public var dryRun = false
    public var snapshots = 0
    public var packsBefore = 0
    public var packsDeleted = 0
    public var packsRepacked = 0
    public var packsWritten = 0
    public var unreferencedPacks = 0
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
    public var unusedBytesBefore: Int64 = 0
    public var unusedBytesAfter: Int64 = 0
    public var indexFilesWritten = 0
    public var indexFilesDeleted = 0
    /// Index files prune left as they were (only those listing a changed pack are rewritten).
    public var indexFilesKept = 0
    /// Small index files merged into the new ones (a compaction).
    public var indexFilesCompacted = 0
    public var indexBytesWritten: Int64 = 0
    public var temporaryFilesRemoved = 0
    public var durationSeconds = 0.0

    public var bytesFreed: Int64 { bytesBefore - bytesAfter }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run", snapshots, packsBefore = "packs_before", packsDeleted = "packs_deleted"
        case packsRepacked = "packs_repacked", packsWritten = "packs_written", unreferencedPacks = "unreferenced_packs"
        case bytesBefore = "bytes_before", bytesAfter = "bytes_after", unusedBytesBefore = "unused_bytes_before"
        case unusedBytesAfter = "unused_bytes_after", indexFilesWritten = "index_files_written"
        case indexFilesDeleted = "index_files_deleted", indexFilesKept = "index_files_kept"
        case indexFilesCompacted = "index_files_compacted", indexBytesWritten = "index_bytes_written", temporaryFilesRemoved = "temporary_files_removed"
        case durationSeconds = "duration_seconds"
    }
}
