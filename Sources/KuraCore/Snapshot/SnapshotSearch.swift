extension Repository {
    /// Calls `body` for every file and symlink matching `pattern` in every snapshot (oldest
    /// first, paths in order within each): `kura find`. Each snapshot database is read once.
    public func find(_ pattern: PathPattern, _ body: (Snapshot, Entry) throws -> Void) throws {
        for snapshot in try snapshots() {
            try openSnapshot(snapshot).forEachEntry { entry in
                guard entry.kind != .directory, pattern.matches(entry.path) else { return }
                try body(snapshot, entry)
            }
        }
    }
}
