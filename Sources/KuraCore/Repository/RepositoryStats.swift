import Foundation

/// Figures about a whole repository, for `kura stats`.
public struct RepositoryStats: Codable, Equatable, Sendable {
    public var snapshots: Int
    public var packs: Int
    /// Bytes of all pack files on disk.
    public var packBytes: Int64
    /// Distinct chunks in the index.
    public var chunks: Int
    /// Plain bytes of the distinct chunks (what the data would take uncompressed, deduplicated).
    public var uniquePlainBytes: Int64
    /// Stored bytes of the distinct chunks (after compression).
    public var uniqueStoredBytes: Int64
    /// What restoring every snapshot would write: the sum of their files' sizes.
    public var totalRestoreBytes: Int64

    enum CodingKeys: String, CodingKey {
        case snapshots, packs, chunks
        case packBytes = "pack_bytes", uniquePlainBytes = "unique_plain_bytes"
        case uniqueStoredBytes = "unique_stored_bytes", totalRestoreBytes = "total_restore_bytes"
    }

    /// Total restore size over bytes on disk: how much deduplication and compression save.
    public var spaceSavingRatio: Double {
        packBytes > 0 ? Double(totalRestoreBytes) / Double(packBytes) : 0
    }
}

extension Repository {
    public func stats() throws -> RepositoryStats {
        let snapshots = try self.snapshots()
        let packs = try listPacks()
        var packBytes: Int64 = 0
        for pack in packs { packBytes += try store.size(of: RepositoryLayout.packName(pack)) ?? 0 }
        let totals = try index().totals()
        return RepositoryStats(snapshots: snapshots.count, packs: packs.count, packBytes: packBytes, chunks: totals.chunks,
                               uniquePlainBytes: totals.plain, uniqueStoredBytes: totals.stored,
                               totalRestoreBytes: snapshots.reduce(0) { $0 + $1.record.summary.totalBytes })
    }
}
