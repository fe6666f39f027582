extension Repository {
    /// Deletes snapshot records (the caller holds the exclusive lock), durably, then their
    /// verification records and cached databases. Their data stays in packs until `prune`.
    public func forget(_ snapshots: [Snapshot]) throws {
        guard !snapshots.isEmpty else { return }
        try store.delete(snapshots.map { RepositoryLayout.snapshotName($0.id) })
        try forgetVerifications(of: snapshots)
        for snapshot in snapshots {
            FileSystem.remove(cachedSnapshotDatabasePath(snapshot.id))
        }
    }
}
