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

extension Repository {
    /// What `kura forget` decides, per host and paths: the snapshots `references` name, or else
    /// (none named) those `policy` does not keep — of `host` only, when given. Reads only; pass
    /// the removed ones to `forget(_:)`.
    public func forgetPlan(_ policy: ForgetPolicy, host: String? = nil, naming references: [String] = []) throws -> [ForgetGroup] {
        let all = try snapshots().filter { host == nil || $0.record.host == host }
        guard !references.isEmpty else { return policy.apply(to: all) }
        return ForgetPolicy.naming(Set(try references.map { try resolve($0).id }), in: all)
    }
}
