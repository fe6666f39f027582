import Foundation

/// Reads one file's content out of the repository: its chunks in order, each checked against its
/// SHA-256, the total against the entry's size. Restore, `cat`, export, the dump spool and the
/// restore test all read file content through it. One per thread (it owns a decoder and
/// buffers).
final class FileContentReader {
    private let reader: ChunkReader
    private let locations: [ChunkID: ChunkLocation]
    private let decoder: ChunkDecoder
    private var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    private var plain = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    /// Which stored bytes `scratch` holds (the last single range fetched): a later read inside it
    /// is served from memory.
    private var held: Held?

    /// Stored bytes of one pack, from `start`, in `scratch`.
    private struct Held {
        var pack: ChunkID
        var start: UInt64
        var bytes: UnsafeRawBufferPointer

        func covers(_ location: ChunkLocation) -> Bool {
            location.pack == pack && location.entry.offset >= start
                && location.entry.offset + UInt64(location.entry.storedLength) <= start + UInt64(bytes.count)
        }

        /// A covered chunk's stored bytes.
        func slice(_ location: ChunkLocation) -> UnsafeRawBufferPointer {
            let from = Int(location.entry.offset - start)
            return UnsafeRawBufferPointer(rebasing: bytes[from..<(from + Int(location.entry.storedLength))])
        }
    }

    init(reader: ChunkReader, locations: [ChunkID: ChunkLocation]) {
        self.reader = reader
        self.locations = locations
        decoder = reader.makeDecoder()
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
    /// The chunks are taken in windows of up to `ChunkReader.maxSpan` stored bytes, each fetched
    /// with as few ranged reads as the packs allow (`fetchWindow`).
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
            var end = next + 1
            var bytes = Int(resolved[next].entry.storedLength)
            while end < resolved.count && bytes + Int(resolved[end].entry.storedLength) <= ChunkReader.maxSpan {
                bytes += Int(resolved[end].entry.storedLength)
                end += 1
            }
            let window = resolved[next..<end]
            let stored = try fetchWindow(window)
            for (location, bytes) in zip(window, stored) {
                let length = Int(location.entry.plainLength)
                plain.reserve(atLeast: length)
                let destination = UnsafeMutableRawBufferPointer(rebasing: plain[0..<length])
                try reader.decode(location, stored: bytes, into: destination, decoder: decoder)
                try body(UnsafeRawBufferPointer(destination))
                total += Int64(length)
            }
            next = end
        }
        guard total == size else {
            throw KuraError.integrity(.sizeMismatch(path: path, actual: total, expected: size))
        }
    }

    /// The stored bytes of each chunk of `window`, in order. From what `held` has when it covers
    /// them all (a batch prefetched); else fetched: the window's chunks sorted by pack and offset
    /// and cut into spans, one ranged read each. A file that a later backup changed here and
    /// there has its chunks in an old pack with new ones in between in a new pack: in file order
    /// every new chunk would break a span (1,760 reads for a 262 MB dump after one night); by
    /// pack, the old ones read over the gaps and the new ones come together (a few per window).
    private func fetchWindow(_ window: ArraySlice<ChunkLocation>) throws -> [UnsafeRawBufferPointer] {
        if let held, window.allSatisfy({ held.covers($0) }) {
            return window.map { held.slice($0) }
        }
        held = nil
        let order = window.indices.sorted { (window[$0].pack, window[$0].entry.offset) < (window[$1].pack, window[$1].entry.offset) }
        var spans: [[ChunkLocation]] = []
        var span = ChunkReader.Span()
        for index in order {
            let location = window[index]
            if spans.last?.last == location { continue }  // a chunk repeated in the window: read once
            if spans.isEmpty || !span.append(location) {
                span = ChunkReader.Span()
                _ = span.append(location)
                spans.append([])
            }
            spans[spans.count - 1].append(location)
        }
        let total = spans.reduce(0) { $0 + ChunkReader.length($1[...]) }
        scratch.reserve(atLeast: total)
        var regions: [Held] = []
        var offset = 0
        for span in spans {
            let length = ChunkReader.length(span[...])
            let region = UnsafeMutableRawBufferPointer(rebasing: scratch[offset..<(offset + length)])
            try reader.fetch(span[...], into: region)
            regions.append(Held(pack: span[0].pack, start: span[0].entry.offset, bytes: UnsafeRawBufferPointer(region)))
            offset += length
        }
        if regions.count == 1 { held = regions[0] }
        return try window.map { location in
            guard let region = regions.first(where: { $0.covers(location) }) else {
                throw KuraError.integrity(.chunkDamaged(chunk: location.entry.chunk.short, pack: location.pack.short))
            }
            return region.slice(location)
        }
    }

    /// Fetches, in one ranged read, the stored bytes of `locations` (one span: see
    /// `ChunkReader.Span`), typically the chunks of several small files written one after the
    /// other; the files' reads that follow then take their chunks from memory. On object storage
    /// this turns a request per file into a request per few MiB.
    func prefetch(_ locations: ArraySlice<ChunkLocation>) throws {
        guard let first = locations.first else { return }
        held = nil
        let length = ChunkReader.length(locations)
        scratch.reserve(atLeast: length)
        let region = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
        try reader.fetch(locations, into: region)
        held = Held(pack: first.pack, start: first.entry.offset, bytes: UnsafeRawBufferPointer(region))
    }
}
