/// A buffer of file bytes read by the reader thread, cut into chunks, with the events that say
/// which file each chunk belongs to. Batches circulate between the reader and the archiver, so
/// the bytes are read once into this buffer and hashed, compressed and written from it: no copy
/// per chunk.
final class ChunkBatch {
    enum Event {
        /// A directory, symlink or unchanged file, complete.
        case entry(Entry)
        /// A file to read starts; its chunks follow, then `fileEnd`.
        case fileStart(Entry, isNew: Bool)
        /// The chunk at this index of `chunkOffsets` belongs to the open file.
        case chunk(Int)
        /// The open file is complete.
        case fileEnd(size: Int64)
        /// The open file failed part-way and is left out of the snapshot.
        case fileFailed(path: String, reason: String)
        /// A path that could not be read at all.
        case unreadable(path: String, reason: String)
    }

    let buffer: UnsafeMutableRawBufferPointer
    var used = 0
    var chunkOffsets: [Int] = []
    var chunkLengths: [Int] = []
    var events: [Event] = []

    init(capacity: Int) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    var free: Int { buffer.count - used }

    func chunk(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[chunkOffsets[index]..<(chunkOffsets[index] + chunkLengths[index])])
    }

    func addChunk(offset: Int, length: Int) {
        events.append(.chunk(chunkOffsets.count))
        chunkOffsets.append(offset)
        chunkLengths.append(length)
    }

    /// Empties the batch, keeping `carry` bytes from `carryOffset` at the front (the unfinished
    /// chunk of a file that continues into this batch).
    func reset(carrying carry: UnsafeRawBufferPointer? = nil) {
        used = 0
        if let carry, carry.count > 0 {
            buffer.copyMemory(from: carry)
            used = carry.count
        }
        chunkOffsets.removeAll(keepingCapacity: true)
        chunkLengths.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
    }
}
