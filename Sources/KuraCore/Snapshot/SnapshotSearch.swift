extension Repository {
    /// Calls `body` for every file and symlink matching `pattern` in every snapshot (oldest
    /// first, paths in order within each): `kura find`. Each snapshot database is read once,
    /// SQLite skipping the paths that cannot match (`PathPattern.supersetGlob`).
    public func find(_ pattern: PathPattern, _ body: (Snapshot, Entry) throws -> Void) throws {
        for snapshot in try snapshots() {
            let reader = try openSnapshot(snapshot)
            let visit: (Entry) throws -> Void = { entry in
                guard entry.kind != .directory, pattern.matches(entry.path) else { return }
                try body(snapshot, entry)
            }
            try reader.forEachEntry(globbing: pattern.supersetGlob.map { [$0] } ?? [], visit)
        }
    }
}
