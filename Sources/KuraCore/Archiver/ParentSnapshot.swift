import Foundation
import GRDB

/// The parent snapshot's files, read forward in path order in pages, for change detection: a
/// file whose size, mtime, ctime and inode are unchanged reuses the parent's chunk list without
/// being read. Memory stays at one page of entries whatever the snapshot size.
final class ParentSnapshot {
    private let reader: SnapshotReader
    private var page: [Entry] = []
    private var position = 0
    private var lastPath: String?
    private var exhausted = false
    private static let pageSize = 2048

    init(reader: SnapshotReader) { self.reader = reader }

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
        while true {
            if position == page.count {
                if exhausted { return .new }
                try loadPage()
                if page.isEmpty { return .new }
            }
            let candidate = page[position]
            if candidate.path.utf8.lexicographicallyPrecedes(entry.path.utf8) {
                position += 1
                continue
            }
            guard candidate.path == entry.path else { return .new }
            position += 1
            let same = candidate.size == entry.size && candidate.mtimeNanoseconds == entry.mtimeNanoseconds
                && candidate.ctimeNanoseconds == entry.ctimeNanoseconds && candidate.inode == entry.inode
            return same ? .unchanged(candidate) : .changed
        }
    }

    private func loadPage() throws {
        let after = lastPath
        page = try reader.read { db in
            let rows: [Row]
            if let after {
                rows = try Row.fetchAll(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries WHERE type = 'file' AND path > ? ORDER BY path LIMIT ?",
                                        arguments: [after, Self.pageSize])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT \(SnapshotSchema.entryColumns) FROM entries WHERE type = 'file' ORDER BY path LIMIT ?",
                                        arguments: [Self.pageSize])
            }
            return rows.compactMap(SnapshotReader.entry(from:))
        }
        position = 0
        lastPath = page.last?.path
        exhausted = page.count < Self.pageSize
    }

    /// Every chunk id the parent's files use, visited in pages.
    static func forEachChunkPage(of reader: SnapshotReader, _ body: ([ChunkID]) throws -> Void) throws {
        var batch: [ChunkID] = []
        try reader.forEachEntry { entry in
            batch += entry.chunks
            if batch.count >= 4096 {
                try body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try body(batch) }
    }
}
