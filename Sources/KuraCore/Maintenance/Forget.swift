extension Repository {
    /// Deletes snapshot records (the caller holds the exclusive lock), durably, and their cached
    /// databases. Their data stays in packs until `prune`.
    public func forget(_ snapshots: [Snapshot]) throws {
        for snapshot in snapshots {
            try FileSystem.delete(layout.snapshot(snapshot.id))
        }
        try FileSystem.fsyncDirectory(layout.snapshotsDirectory)
        for snapshot in snapshots {
            FileSystem.remove(cacheDirectory + "/snapshots/" + snapshot.id.hex + ".sqlite")
        }
    }
}
