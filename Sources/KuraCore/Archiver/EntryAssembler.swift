/// Turns a batch's events and the ids of its chunks into complete snapshot entries, and counts
/// them into the backup's summary. A file whose chunks continue into the next batch stays open
/// across batches. Needs no repository: tested alone (`EntryAssemblerTests`).
struct EntryAssembler {
    private(set) var summary = BackupSummary()
    private(set) var unreadable: [UnreadablePath] = []
    private var openFile: (entry: Entry, isNew: Bool)?

    /// The entries `events` complete, in order; `ids[i]` is the id of the batch's chunk `i`.
    mutating func assemble(_ events: [ChunkBatch.Event], ids: [ChunkID]) -> [Entry] {
        var completed: [Entry] = []
        for event in events {
            switch event {
            case .entry(let entry):
                switch entry.kind {
                case .directory: summary.directories += 1
                case .symlink: summary.symlinks += 1
                case .file:
                    summary.filesUnchanged += 1
                    summary.totalBytes += entry.size
                }
                completed.append(entry)
            case .fileStart(let entry, let isNew):
                openFile = (entry, isNew)
                openFile?.entry.chunks = []
            case .chunk(let index):
                openFile?.entry.chunks.append(ids[index])
            case .fileEnd(let size):
                guard var file = openFile else { continue }
                file.entry.size = size
                if file.isNew { summary.filesNew += 1 } else { summary.filesChanged += 1 }
                summary.totalBytes += size
                summary.bytesRead += size
                completed.append(file.entry)
                openFile = nil
            case .fileFailed(let path, let reason):
                unreadable.append(UnreadablePath(path: path, reason: reason))
                openFile = nil
            case .unreadable(let path, let reason):
                unreadable.append(UnreadablePath(path: path, reason: reason))
            }
        }
        return completed
    }
}
