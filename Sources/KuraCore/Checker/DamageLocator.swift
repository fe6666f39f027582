import Foundation

/// A file of one or more snapshots that cannot be restored because some of its chunks are
/// damaged or missing.
public struct DamagedFile: Equatable, Sendable, Encodable {
    /// The file's path in the snapshot tree (`media/…` or `database_<db>.sql`).
    public var path: String
    /// Short ids of the snapshots holding this version of the file, oldest first.
    public var snapshots: [String]
}

/// Names what damaged chunks cost: which snapshots' file lists and which files of which
/// snapshots. Streams each snapshot's entries; memory holds the damaged set and the result.
enum DamageLocator {
    static func locate(_ damaged: Set<ChunkID>, in snapshots: [Snapshot], repository: Repository)
        -> (files: [DamagedFile], snapshotsWithDamagedTree: [Snapshot]) {
        guard !damaged.isEmpty else { return ([], []) }
        var byPath: [String: [String]] = [:]
        var damagedTrees: [Snapshot] = []
        for snapshot in snapshots {
            if snapshot.record.tree.chunks.contains(where: { ChunkID(hex: $0).map(damaged.contains) ?? true }) {
                damagedTrees.append(snapshot)
            }
            // A file list that is cached locally still names the files, even when its chunks are damaged.
            try? repository.withSnapshotDatabase(snapshot) { path in
                try SnapshotReader(path: path).forEachEntry { entry in
                    guard entry.chunks.contains(where: damaged.contains) else { return }
                    byPath[entry.path, default: []].append(snapshot.id.short)
                }
            }
        }
        return (byPath.keys.sorted().map { DamagedFile(path: $0, snapshots: byPath[$0] ?? []) }, damagedTrees)
    }
}
