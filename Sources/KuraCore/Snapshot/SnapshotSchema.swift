/// The SQLite schema of a snapshot database (docs/FORMAT.md, "Snapshot database").
enum SnapshotSchema {
    /// `PRAGMA application_id`: "KURA".
    static let applicationID: Int32 = 0x4B55_5241
    /// `PRAGMA user_version`.
    static let version = 1
    static let pageSize = 4096

    /// The metadata table comes first so that the pages that change every night (time, parent)
    /// sit together at the start of the file, and the rest of the file deduplicates.
    static let create = """
        CREATE TABLE snapshot (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE entries (
            path TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            mode INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            gid INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            size INTEGER NOT NULL,
            link_target TEXT,
            chunks BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE database_tables (
            schema TEXT NOT NULL,
            name TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            row_count INTEGER NOT NULL,
            PRIMARY KEY (schema, name)
        ) WITHOUT ROWID;
        """

    static let entryColumns = "path, type, mode, uid, gid, mtime_ns, ctime_ns, inode, size, link_target, chunks"
}
