import Foundation

/// Whether every chunk the parent snapshot references is still in the index — the condition for
/// reusing its chunk lists — checked on a thread of its own while the backup already walks the
/// media (on 100,000 unchanged files the check took a fifth of a no-change backup when it ran
/// first). Before the snapshot is published, `Archiver` waits for the answer; a parent found
/// wanting (a damaged repository: index files lost) makes the backup start over without it.
final class ParentCheck: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var missing = 0
    private var failure: Error?

    /// Starts the check of the snapshot database at `path` (opened again here: the backup's own
    /// reader is busy with change detection) against `index`.
    init(snapshotDatabase path: String, index: IndexCache) {
        let thread = Thread { [self] in
            do {
                let reader = try SnapshotReader(path: path)
                try reader.forEachChunkPage { page in missing += try index.missingCount(page) }
            } catch {
                failure = error
            }
            done.signal()
        }
        thread.start()
    }

    /// The number of referenced chunks missing from the index; waits for the check to end.
    func missingChunks() throws -> Int {
        done.wait()
        done.signal()  // a second call returns at once
        if let failure { throw failure }
        return missing
    }
}
