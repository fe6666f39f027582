import Dispatch
import Foundation

/// Stores chunks in the repository once: hashes them on all cores, asks the index (and this
/// session's own list) which are new, compresses only those on all cores, appends them to packs,
/// and writes index files for the packs as they become durable.
///
/// Appending to packs (copies and `write`s, one thread's work) runs on a serial queue of its own
/// while the caller goes on to the next batch: the cores hash and compress batch N + 1 while
/// batch N is written. Two arenas alternate, so a batch's stored bytes stay put until they are
/// appended; `whenStored` tells the caller when a batch's own buffer may be reused.
///
/// Write order (docs/DESIGN.md): a pack is durable before an index file names it; an index file
/// is durable before a snapshot refers to its chunks.
final class ChunkSaver {
    private let repository: Repository
    private let index: IndexCache
    private let packs: ChunkStore
    private let compressors: [ChunkCompressor]
    private let compressorLock = NSLock()
    private var freeCompressors: [ChunkCompressor]
    /// Chunks stored in this session and not yet in an index file.
    private var sessionChunks = Set<ChunkID>()
    private var durablePacks: [FinishedPack] = []
    /// Compressed (and sealed) chunks, one arena per batch in flight: `store` fills one while the
    /// appender may still read the other.
    private var arenas = [UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 64),
                          UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 64)]
    /// Signalled by the appender when it is done with the arena of the same index.
    private let arenaFree = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
    private var nextArena = 0
    /// Appends stored chunks to `packs` in order, off the caller's thread.
    private let appender = DispatchQueue(label: "kura.chunk-appender")
    private let appenderLock = NSLock()
    /// The first error of an append, thrown by the next `save`, `finish` or `drain`.
    private var appendError: Error?
    /// An index file is written after this many durable packs (about 1 GiB) or 100,000 entries,
    /// so that a killed backup leaves most of its data indexed and reusable, and memory bounded.
    static let packsPerIndexFile = 64

    private(set) var chunksAdded = 0
    private(set) var plainBytesAdded: Int64 = 0
    private(set) var indexBytesWritten: Int64 = 0

    var bytesWritten: Int64 { Int64(packs.bytesWritten) + indexBytesWritten }

    init(repository: Repository, compression: CompressionSetting) throws {
        self.repository = repository
        index = try repository.index()
        packs = repository.makeChunkStore()
        let workers = max(2, ProcessInfo.processInfo.activeProcessorCount)
        compressors = (0..<workers).map { _ in ChunkCompressor(compression) }
        freeCompressors = compressors
    }

    // A queued append holds the saver: no append can still read an arena when this runs.
    deinit { for arena in arenas { arena.deallocate() } }

    /// Stores the chunks of a batch; returns every chunk's id, in order. The batch's bytes may
    /// still be read after this returns: reuse it only from `whenStored`.
    func save(_ batch: ChunkBatch) throws -> [ChunkID] {
        let count = batch.chunkOffsets.count
        guard count > 0 else { return [] }
        let ids = Self.hashAll(count) { batch.chunk($0) }
        try store(ids: ids) { batch.chunk($0) }
        try writeIndexFiles(force: false)
        return ids
    }

    /// Stores one buffer (a mapped snapshot database) as chunks cut by `chunker`, about 8 MiB at
    /// a time so that memory does not grow with it; `consumed(offset)` is told each time the
    /// bytes before `offset` are no longer needed. Returns the chunk ids in order.
    func save(buffer: UnsafeRawBufferPointer, chunker: FastCDC, consumed: (Int) -> Void = { _ in }) throws -> [ChunkID] {
        var ids: [ChunkID] = []
        var group: [Range<Int>] = []
        var start = 0
        func flush() throws {
            let hashed = Self.hashAll(group.count) { UnsafeRawBufferPointer(rebasing: buffer[group[$0]]) }
            try store(ids: hashed) { UnsafeRawBufferPointer(rebasing: buffer[group[$0]]) }
            ids += hashed
            try drain()
            consumed(group.last?.upperBound ?? 0)
            group.removeAll(keepingCapacity: true)
        }
        // Cut as the groups go, not all at once: a mapped buffer's pages then stay resident only
        // between a cut and `consumed` (cutting a million files' 120 MB database first put it
        // all in resident memory).
        while start < buffer.count {
            let rest = UnsafeRawBufferPointer(rebasing: buffer[start...])
            let length = chunker.cut(rest, atEnd: true) ?? rest.count
            group.append(start..<(start + length))
            start += length
            if start - (group.first?.lowerBound ?? start) >= Self.bufferGroupSize { try flush() }
        }
        if !group.isEmpty { try flush() }
        return ids
    }

    /// The ids of `count` chunks, hashed on all cores.
    private static func hashAll(_ count: Int, _ chunk: (Int) -> UnsafeRawBufferPointer) -> [ChunkID] {
        var ids = [ChunkID](repeating: ChunkID(words: (0, 0, 0, 0)), count: count)
        ids.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: count) { index in out[index] = SHA256Hasher.hash(chunk(index)) }
        }
        return ids
    }

    /// How much of a buffer `save(buffer:)` hashes and compresses at once.
    static let bufferGroupSize = 8 << 20

    /// Runs `body` on the appender once every chunk saved so far is appended to a pack (whether
    /// or not that succeeded): the moment a batch's buffer may be reused.
    func whenStored(_ body: @escaping () -> Void) {
        appender.async(execute: body)
    }

    /// Waits until every chunk saved so far is appended to a pack; throws the first failure.
    func drain() throws {
        appender.sync {}
        try throwAppendError()
    }

    private func throwAppendError() throws {
        appenderLock.lock()
        defer { appenderLock.unlock() }
        if let appendError { throw appendError }
    }

    /// Waits for every pack to be durable and writes the index files naming them.
    func finish() throws {
        try drain()
        durablePacks += try packs.finish()
        try writeIndexFiles(force: true)
    }

    /// After a failure or interruption: indexes the packs already durable (so the next backup
    /// reuses their data) and removes the unfinished pack's temp file.
    func abandon() {
        appender.sync {}
        packs.abandon()
        durablePacks += (try? packs.takeFinished()) ?? []
        try? writeIndexFiles(force: true)
    }

    private func store(ids: [ChunkID], bytes: (Int) -> UnsafeRawBufferPointer) throws {
        try throwAppendError()
        // Which chunks are new: not stored in this session, not in the index, first in the batch.
        let known = try index.contained(ids.filter { !sessionChunks.contains($0) })
        var newIndices: [Int] = []
        var seen = Set<ChunkID>()
        for (position, id) in ids.enumerated() where !sessionChunks.contains(id) && !known.contains(id) && seen.insert(id).inserted {
            newIndices.append(position)
        }
        guard !newIndices.isEmpty else { return }

        // Compress (and seal) the new ones on all cores, each into its own slot of one arena. A
        // sealed blob is nonce ‖ ciphertext ‖ tag: compressed bytes go after the nonce's room and
        // are sealed in place.
        let cipher = repository.cipher
        let overhead = cipher == nil ? 0 : RepositoryCipher.overhead
        let nonceRoom = cipher == nil ? 0 : RepositoryCipher.nonceSize
        var slots: [Int] = [0]
        for position in newIndices { slots.append((slots.last ?? 0) + ChunkCompressor.bound(bytes(position).count) + overhead) }
        let needed = slots.last ?? 0
        // This arena's last batch must be appended before it is filled again.
        let arenaIndex = nextArena
        nextArena = 1 - nextArena
        arenaFree[arenaIndex].wait()
        var arenaTaken = true
        defer { if arenaTaken { arenaFree[arenaIndex].signal() } }
        arenas[arenaIndex].reserve(atLeast: needed)
        var results = [(Codec, Int)](repeating: (.raw, 0), count: newIndices.count)
        let arena = arenas[arenaIndex]
        results.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: newIndices.count) { slot in
                let compressor = takeCompressor()
                defer { returnCompressor(compressor) }
                let start = slots[slot] + nonceRoom
                let plain = bytes(newIndices[slot])
                let (codec, length) = compressor.compress(plain, into: UnsafeMutableRawBufferPointer(rebasing: arena[start..<(slots[slot + 1] - overhead + nonceRoom)]))
                out[slot] = (codec, length)
                guard let cipher else { return }
                let content = codec == .raw ? plain : UnsafeRawBufferPointer(rebasing: arena[start..<(start + length)])
                cipher.seal(content, into: UnsafeMutableRawBufferPointer(rebasing: arena[slots[slot]..<(slots[slot] + content.count + overhead)]))
            }
        }

        var appends: [PendingAppend] = []
        appends.reserveCapacity(newIndices.count)
        for (slot, position) in newIndices.enumerated() {
            let plain = bytes(position)
            let (codec, length) = results[slot]
            // A raw chunk of a plain repository is stored from where it lies; anything else from its slot.
            let stored = codec == .raw && cipher == nil ? plain : UnsafeRawBufferPointer(rebasing: arena[slots[slot]..<(slots[slot] + length + overhead)])
            appends.append(PendingAppend(chunk: ids[position], stored: stored, codec: codec, plainLength: plain.count))
            sessionChunks.insert(ids[position])
            chunksAdded += 1
            plainBytesAdded += Int64(plain.count)
        }
        arenaTaken = false
        appender.async { [self, appends] in
            defer { arenaFree[arenaIndex].signal() }
            appenderLock.lock()
            let failed = appendError != nil
            appenderLock.unlock()
            guard !failed else { return }
            do {
                for append in appends {
                    try packs.add(chunk: append.chunk, stored: append.stored, codec: append.codec, plainLength: append.plainLength)
                }
            } catch {
                appenderLock.lock()
                appendError = error
                appenderLock.unlock()
            }
        }
    }

    /// A chunk decided new and stored (compressed, sealed), waiting for the appender.
    private struct PendingAppend {
        let chunk: ChunkID
        let stored: UnsafeRawBufferPointer
        let codec: Codec
        let plainLength: Int
    }

    private func writeIndexFiles(force: Bool) throws {
        durablePacks += try packs.takeFinished()
        while true {
            // A group ends at 64 packs or 100,000 entries, whichever comes first: small files
            // (a million receipts) make many entries per pack, and they are held until written.
            var count = 0, entries = 0
            while count < durablePacks.count, count < Self.packsPerIndexFile, entries < IndexRewriter.entriesPerFile {
                entries += durablePacks[count].entries.count
                count += 1
            }
            let full = count == Self.packsPerIndexFile || entries >= IndexRewriter.entriesPerFile
            guard count > 0, full || force else { break }
            let group = Array(durablePacks.prefix(count))
            durablePacks.removeFirst(group.count)
            let file = IndexFile(packs: group.map { IndexFile.PackIndex(pack: $0.id, entries: $0.entries) })
            indexBytesWritten += Int64(try repository.writeIndexFile(file).size)
            for pack in group { for entry in pack.entries { sessionChunks.remove(entry.chunk) } }
        }
    }

    private func takeCompressor() -> ChunkCompressor {
        compressorLock.lock()
        defer { compressorLock.unlock() }
        return freeCompressors.popLast() ?? ChunkCompressor(compressors[0].setting)
    }

    private func returnCompressor(_ compressor: ChunkCompressor) {
        compressorLock.lock()
        freeCompressors.append(compressor)
        compressorLock.unlock()
    }
}
