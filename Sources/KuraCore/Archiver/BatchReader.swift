import Foundation

/// The reading side of a backup, run on its own thread: walks the source, skips files the parent
/// snapshot shows unchanged, reads the others with large `read`s into batch buffers and cuts
/// them into chunks. Full batches go to the archiver through a bounded queue; empty ones come
/// back through another, so at most `batchCount` buffers exist.
final class BatchReader {
    private let mediaChunker: FastCDC
    private let dumpChunker: FastCDC
    /// The chunker of the source being read.
    private var chunker: FastCDC
    private let parent: ParentSnapshot?
    private let free: BoundedQueue<ChunkBatch>
    private let full: BoundedQueue<ChunkBatch>
    private let cancellation: CancellationFlag
    private let progress: ProgressCounter?
    private var batch: ChunkBatch?
    /// A batch is handed on once it holds this many events, so that the archiver keeps busy
    /// while the reader walks many unchanged files.
    private static let maxEvents = 4096

    /// Set when the walk stopped on an error other than an unreadable file.
    private(set) var failure: Error?

    init(mediaChunker: FastCDC, dumpChunker: FastCDC, parent: ParentSnapshot?, free: BoundedQueue<ChunkBatch>, full: BoundedQueue<ChunkBatch>,
         cancellation: CancellationFlag, progress: ProgressCounter?) {
        self.mediaChunker = mediaChunker
        self.dumpChunker = dumpChunker
        chunker = mediaChunker
        self.parent = parent
        self.free = free
        self.full = full
        self.cancellation = cancellation
        self.progress = progress
    }

    /// Reads every item of the sources, in order (their snapshot paths must ascend across
    /// them); always closes `full` at the end.
    func run(_ sources: [BackupSource]) {
        defer { full.close() }
        do {
            batch = try nextBatch(carrying: nil)
            for source in sources {
                chunker = source.holdsDumps ? dumpChunker : mediaChunker
                try source.walk { item in
                    try cancellation.check()
                    switch item {
                    case .entry(let entry):
                        try append(.entry(entry))
                    case .unreadable(let path, let reason):
                        try append(.unreadable(path: path, reason: reason))
                    case .file(let path, let entry):
                        // A dump is a new temp file each time: never compared, always read.
                        let comparison: ParentSnapshot.Comparison = source.holdsDumps ? (parent == nil ? .new : .changed)
                            : try parent?.compare(entry) ?? .new
                        switch comparison {
                        case .unchanged(let previous):
                            var reused = entry
                            reused.chunks = previous.chunks
                            try append(.entry(reused))
                            progress?.add(files: 1, bytes: entry.size)
                        case .changed:
                            try read(path: path, entry: entry, isNew: false)
                        case .new:
                            try read(path: path, entry: entry, isNew: true)
                        }
                    }
                }
            }
            if let batch { full.push(batch) }
            batch = nil
        } catch {
            failure = error
        }
    }

    private func nextBatch(carrying carry: UnsafeRawBufferPointer?) throws -> ChunkBatch {
        guard let next = free.pop() else { throw KuraError.interrupted }
        next.reset(carrying: carry)
        return next
    }

    private func append(_ event: ChunkBatch.Event) throws {
        guard let current = batch else { return }
        current.events.append(event)
        if current.events.count >= Self.maxEvents {
            full.push(current)
            batch = try nextBatch(carrying: nil)
        }
    }

    /// Reads one file into batches and cuts it; a file that fails part-way is reported and left
    /// out, its chunks already cut are still stored (harmless: they are just unreferenced).
    private func read(path: String, entry: Entry, isNew: Bool) throws {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            try append(.unreadable(path: path, reason: String(cString: strerror(errno))))
            return
        }
        defer { close(fd) }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        guard var current = batch else { return }
        current.events.append(.fileStart(entry, isNew: isNew))
        var chunkStart = current.used
        var size: Int64 = 0
        var fileChunker = chunker
        // The search for the open chunk's end so far: the next read continues it.
        var scan = FastCDC.Scan()
        while true {
            try cancellation.check()
            if current.free == 0 || (current.free < 65536 && chunkStart == current.used) {
                // Hand on the full batch; the unfinished chunk moves to the front of the next one.
                let carry = UnsafeRawBufferPointer(rebasing: current.buffer[chunkStart..<current.used])
                let next = try nextBatch(carrying: carry)
                full.push(current)
                current = next
                batch = next
                chunkStart = 0
            }
            let got = Glibc.read(fd, UnsafeMutableRawBufferPointer(rebasing: current.buffer[current.used...]).baseAddress, current.free)
            if got < 0 {
                if errno == EINTR { continue }
                current.events.append(.fileFailed(path: path, reason: String(cString: strerror(errno))))
                return
            }
            // A pg_dump custom-format file kept among the media (a dump made by the site's old
            // nightly job, say) is cut with the dump chunker, as Kura's own dumps are: its nightly
            // changes are small and scattered, and big chunks would store most of it again.
            if size == 0, DatabaseDump.isCustomFormat(UnsafeRawBufferPointer(rebasing: current.buffer[current.used..<(current.used + got)])) {
                fileChunker = dumpChunker
            }
            current.used += got
            size += Int64(got)
            progress?.add(files: 0, bytes: Int64(got), current: entry.path)
            let atEnd = got == 0
            while chunkStart < current.used {
                let pending = UnsafeRawBufferPointer(rebasing: current.buffer[chunkStart..<current.used])
                guard let length = fileChunker.cut(pending, atEnd: atEnd, resuming: &scan) else { break }
                current.addChunk(offset: chunkStart, length: length)
                chunkStart += length
            }
            if atEnd { break }
        }
        current.events.append(.fileEnd(size: size))
        progress?.add(files: 1, bytes: 0)
        if current.events.count >= Self.maxEvents {
            full.push(current)
            batch = try nextBatch(carrying: nil)
        }
    }
}
