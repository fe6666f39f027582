/// Walks a snapshot's entries forward in path order, one page in memory at a time.
final class EntryCursor {
    private let reader: SnapshotReader
    private var page: [Entry] = []
    private var position = 0
    private var exhausted = false
    private static let pageSize = 2048

    init(_ reader: SnapshotReader) { self.reader = reader }

    /// The current entry without consuming it; nil at the end.
    func peek() throws -> Entry? {
        if position == page.count {
            if exhausted { return nil }
            page = try reader.entries(after: page.last?.path, limit: Self.pageSize)
            position = 0
            exhausted = page.count < Self.pageSize
            if page.isEmpty { return nil }
        }
        return page[position]
    }

    func advance() { position += 1 }
}
