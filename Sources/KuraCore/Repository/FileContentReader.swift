import Foundation

/// Reads one file's content out of the repository: its chunks in order, each checked against its
/// SHA-256, the total against the entry's size. Restore, `cat`, export, the dump spool and the
/// restore test all read file content through it. One per thread (it owns a decompressor and
/// buffers).
final class FileContentReader {
    private let reader: ChunkReader
    private let locations: [ChunkID: ChunkLocation]
    private let decompressor = ChunkDecompressor()
    private var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    private var plain = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    /// Which stored bytes `scratch` holds (the last range fetched): a later run inside it is not
    /// fetched again.
    private var held: (pack: ChunkID, start: UInt64, bytes: UnsafeRawBufferPointer)?

    init(reader: ChunkReader, locations: [ChunkID: ChunkLocation]) {
        self.reader = reader
        self.locations = locations
    }

    deinit {
        scratch.deallocate()
        plain.deallocate()
    }

    /// Streams a file's verified content to `body`, chunk by chunk; checks the total size.
    func forEachChunk(of entry: Entry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachChunk(entry.chunks, size: entry.size, of: entry.path, body)
    }

    /// Streams the verified content made of `chunks` (`size` bytes in all) of what `path` names.
    /// Neighbouring chunks of one pack are fetched together (`ChunkReader.span`).
    func forEachChunk(_ chunks: [ChunkID], size: Int64, of path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var resolved: [ChunkLocation] = []
        resolved.reserveCapacity(chunks.count)
        for chunk in chunks {
            guard let location = locations[chunk] else {
                throw KuraError.integrity(.chunkNotIndexed(chunk: chunk.short, path: path))
            }
            resolved.append(location)
        }
        var total: Int64 = 0
        var next = 0
        while next < resolved.count {
            let run = resolved[next..<(next + ChunkReader.span(resolved[next...]))]
            let (stored, base) = try storedBytes(of: run)
            for location in run {
                let length = Int(location.entry.plainLength)
                if plain.count < length {
                    plain.deallocate()
                    plain = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 64)
                }
                let destination = UnsafeMutableRawBufferPointer(rebasing: plain[0..<length])
                let start = Int(location.entry.offset - base)
                try reader.decode(location, stored: UnsafeRawBufferPointer(rebasing: stored[start..<(start + Int(location.entry.storedLength))]),
                                  into: destination, decompressor: decompressor)
                try body(UnsafeRawBufferPointer(destination))
                total += Int64(length)
            }
            next = run.endIndex
        }
        guard total == size else {
            throw KuraError.integrity(.sizeMismatch(path: path, actual: total, expected: size))
        }
    }

    /// Fetches, in one ranged read, the stored bytes of `locations` (one span: see
    /// `ChunkReader.span`), typically the chunks of several small files written one after the
    /// other; the files' reads that follow then take their chunks from memory. On object storage
    /// this turns a request per file into a request per few MiB.
    func prefetch(_ locations: ArraySlice<ChunkLocation>) throws {
        _ = try storedBytes(of: locations)
    }

    /// The stored bytes of a span and the pack offset they start at: from what `scratch` holds
    /// when the span lies inside it, else fetched.
    private func storedBytes(of run: ArraySlice<ChunkLocation>) throws -> (UnsafeRawBufferPointer, UInt64) {
        guard let first = run.first, let last = run.last else { return (UnsafeRawBufferPointer(start: nil, count: 0), 0) }
        let end = last.entry.offset + UInt64(last.entry.storedLength)
        if let held, held.pack == first.pack, first.entry.offset >= held.start, end <= held.start + UInt64(held.bytes.count) {
            let from = Int(first.entry.offset - held.start)
            return (UnsafeRawBufferPointer(rebasing: held.bytes[from..<(from + Int(end - first.entry.offset))]), first.entry.offset)
        }
        held = nil
        let stored = try reader.fetch(run, scratch: &scratch)
        held = (first.pack, first.entry.offset, stored)
        return (stored, first.entry.offset)
    }
}
