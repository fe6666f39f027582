import Dispatch

/// Walks a snapshot's entries forward in path order, one page in memory at a time, the next page
/// read and decoded on another thread while this one is consumed (a no-change backup's reader
/// thread compares 100,000 files with the parent's; decoding the parent's pages was a sixth of
/// its work). The reader must not be used by anyone else while the cursor walks.
final class EntryCursor {
    private let reader: SnapshotReader
    private var page: [Entry] = []
    private var position = 0
    private var exhausted = false
    /// The page being read ahead, once `prefetching` is signalled.
    private var prefetched: Result<[Entry], Error>?
    private var prefetching: DispatchSemaphore?
    private static let pageSize = 2048

    init(_ reader: SnapshotReader) { self.reader = reader }

    deinit { prefetching?.wait() }

    /// The current entry without consuming it; nil at the end.
    func peek() throws -> Entry? {
        if position == page.count {
            if exhausted { return nil }
            page = try nextPage()
            position = 0
            exhausted = page.count < Self.pageSize
            if !exhausted, let last = page.last?.path { startPrefetch(after: last) }
            if page.isEmpty { return nil }
        }
        return page[position]
    }

    func advance() { position += 1 }

    private func nextPage() throws -> [Entry] {
        guard let prefetching else { return try reader.entries(after: page.last?.path, limit: Self.pageSize) }
        prefetching.wait()
        self.prefetching = nil
        defer { prefetched = nil }
        return try prefetched?.get() ?? []
    }

    private func startPrefetch(after path: String) {
        let done = DispatchSemaphore(value: 0)
        prefetching = done
        let reader = reader
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            prefetched = Result { try reader.entries(after: path, limit: Self.pageSize) }
            done.signal()
        }
    }
}
