/// What a backup did, stored in the snapshot record and printed (or given as JSON) at the end.
public struct BackupSummary: Codable, Equatable, Sendable {
    public var filesNew = 0
    public var filesChanged = 0
    public var filesUnchanged = 0
    public var directories = 0
    public var symlinks = 0
    /// Total size of the files in the snapshot.
    public var totalBytes: Int64 = 0
    /// Bytes read from the sources (unchanged files are not read).
    public var bytesRead: Int64 = 0
    /// Plain bytes of chunks the repository did not have yet.
    public var dataAdded: Int64 = 0
    /// Bytes written to the repository: packs, index files and the snapshot record.
    public var dataAddedStored: Int64 = 0
    /// Size of the snapshot database.
    public var treeSize: Int64 = 0
    /// Chunks new to the repository.
    public var chunksAdded = 0
    /// Paths that could not be read, with the reason.
    public var unreadable = 0
    public var durationSeconds = 0.0
    /// When the database had not changed since the parent's dump: the snapshot whose backup ran
    /// the dump this snapshot reuses.
    public var databaseDumpedIn: String?

    public init() {}

    public var files: Int { filesNew + filesChanged + filesUnchanged }

    enum CodingKeys: String, CodingKey {
        case filesNew = "files_new", filesChanged = "files_changed", filesUnchanged = "files_unchanged"
        case directories, symlinks, unreadable
        case totalBytes = "total_bytes", bytesRead = "bytes_read", dataAdded = "data_added"
        case dataAddedStored = "data_added_stored", treeSize = "tree_size", chunksAdded = "chunks_added"
        case durationSeconds = "duration_seconds", databaseDumpedIn = "database_dumped_in"
    }
}
