/// The parent snapshot's files, read forward in path order, for change detection: a file whose
/// size, mtime, ctime and inode are unchanged reuses the parent's chunk list without being read.
/// Memory stays at one page of entries whatever the snapshot size.
final class ParentSnapshot {
    private let cursor: EntryCursor

    init(reader: SnapshotReader) { cursor = EntryCursor(reader) }

    /// How a file compares with the parent snapshot.
    enum Comparison {
        /// Same size, mtime, ctime and inode: the parent's entry, whose chunks can be reused.
        case unchanged(Entry)
        case changed
        case new
    }

    /// Compares a file with the parent's entry at the same path. Calls must come in increasing
    /// path order.
    func compare(_ entry: Entry) throws -> Comparison {
        while let candidate = try cursor.peek(), candidate.path.utf8.lexicographicallyPrecedes(entry.path.utf8) {
            cursor.advance()
        }
        guard let candidate = try cursor.peek(), candidate.path == entry.path, candidate.kind == .file else { return .new }
        cursor.advance()
        let same = candidate.size == entry.size && candidate.mtimeNanoseconds == entry.mtimeNanoseconds
            && candidate.ctimeNanoseconds == entry.ctimeNanoseconds && candidate.inode == entry.inode
        return same ? .unchanged(candidate) : .changed
    }
}
