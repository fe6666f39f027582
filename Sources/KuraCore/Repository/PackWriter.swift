import Dispatch
import Foundation

/// A pack that is complete and durable under `data/`.
public struct FinishedPack: Sendable {
    public var id: ChunkID
    public var entries: [PackEntry]
    public var size: UInt64
}

/// Appends stored chunks to pack files of about `targetSize` bytes. Each pack is written to
/// `tmp/` and closed with its trailer; its name is hashed as it is written, from its header and
/// trailer (`PackFormat.listedPackName`; an encrypted pack's from its tags too:
/// `PackFormat.sealedPackName`), never by reading the pack back. Its fsync and publishing (a
/// rename into `data/`, or an upload) run in the background, so that the thread adding chunks fills
/// the next pack meanwhile. Up to `store.parallelWrites` packs are published at once; the
/// adding thread waits only when too many closed packs are waiting (bounded temp space): 64 for a
/// disk, whose finalizer keeps up (a bound of 4 cost 5 % of a first backup, docs/BENCHMARKS.md),
/// 2 × connections + 2 for object storage.
/// `finish()` waits until every pack is durable and returns them all. The repository's chunk
/// store (`ChunkStore`); packs are published through its object store.
final class PackWriter: ChunkStore {
    private let layout: RepositoryLayout
    private let store: ObjectStore
    private let targetSize: Int
    /// Seals the trailer in an encrypted repository (the blobs come sealed).
    private let cipher: RepositoryCipher?
    private let finalizer = DispatchQueue(label: "kura.pack-finalizer", attributes: .concurrent)
    private let group = DispatchGroup()
    /// Closed packs not yet published, bounded.
    private let backlog: DispatchSemaphore
    /// Packs being published at once.
    private let publishing: DispatchSemaphore
    private let resultLock = NSLock()
    private var finished: [FinishedPack] = []
    private var finalizeError: Error?

    private var fd: Int32 = -1
    /// The open pack's writeback, started as it is written so that its fsync waits for little;
    /// nil when the pack is uploaded from `tmp/` (not synced, removed after the upload).
    private var writeback: Writeback?
    /// The open pack's name as it is written (`PackFormat.listedPackName`, `sealedPackName`): no
    /// pass over the pack's bytes afterwards.
    private var nameHasher = SHA256Hasher()
    private var temporaryPath = ""
    private var entries: [PackEntry] = []
    private var size: UInt64 = 0
    private var staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    /// Temp files not yet renamed, removed by `abandon()`.
    private var temporaryFiles = Set<String>()

    /// Bytes written to packs so far, trailers included.
    private(set) var bytesWritten: UInt64 = 0

    /// Packs are written in `layout`'s `tmp/` and published into `store`; `cipher` (an encrypted
    /// repository's) seals their trailers.
    init(layout: RepositoryLayout, store: ObjectStore, targetSize: Int, cipher: RepositoryCipher?) {
        self.layout = layout
        self.store = store
        self.targetSize = targetSize
        self.cipher = cipher
        backlog = DispatchSemaphore(value: store.parallelWrites == 1 ? 64 : 2 * store.parallelWrites + 2)
        publishing = DispatchSemaphore(value: store.parallelWrites)
        staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    }

    deinit {
        staging.deallocate()
        if fd >= 0 { close(fd) }
    }

    /// Appends one stored chunk; starts a new pack when needed and closes it once it reaches the
    /// target size.
    func add(chunk: ChunkID, stored: UnsafeRawBufferPointer, codec: Codec, plainLength: Int) throws {
        if fd < 0 { try openPack() }
        entries.append(PackEntry(chunk: chunk, offset: size, storedLength: UInt32(stored.count),
                                 plainLength: UInt32(plainLength), codec: codec))
        try append(stored)
        // A sealed blob ends with its tag (at least `RepositoryCipher.overhead` bytes long).
        if cipher != nil { nameHasher.update(UnsafeRawBufferPointer(rebasing: stored[(stored.count - Primitives.tagSize)...])) }
        if size >= UInt64(targetSize) { try closePack() }
    }

    /// Closes the open pack, waits for all packs to be durable and returns them (each only once).
    func finish() throws -> [FinishedPack] {
        if fd >= 0 { try closePack() }
        group.wait()
        return try takeFinished()
    }

    /// The packs that became durable since the last call, without waiting for the others.
    func takeFinished() throws -> [FinishedPack] {
        resultLock.lock()
        defer { resultLock.unlock() }
        if let finalizeError { throw finalizeError }
        let packs = finished
        finished = []
        return packs
    }

    /// Drops the open pack and waits for the background queue; removes temp files left behind.
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        group.wait()
        resultLock.lock()
        let leftovers = temporaryFiles
        resultLock.unlock()
        for path in leftovers { unlink(path) }
    }

    private func openPack() throws {
        temporaryPath = layout.tmpDirectory + "/pack-" + FileSystem.randomName()
        fd = try FileSystem.createFile(temporaryPath, flags: O_WRONLY, mode: layout.permissions.file)
        resultLock.lock()
        temporaryFiles.insert(temporaryPath)
        resultLock.unlock()
        entries = []
        size = 0
        staged = 0
        writeback = store.publishesTheFileItself ? Writeback(fd: fd) : nil
        let header = PackFormat.header(encrypted: cipher != nil)
        try header.withUnsafeBytes { try append($0) }
        nameHasher = SHA256Hasher()
        nameHasher.update(header)
    }

    private func append(_ bytes: UnsafeRawBufferPointer) throws {
        size += UInt64(bytes.count)
        bytesWritten += UInt64(bytes.count)
        let direct = bytes.count >= staging.count / 2
        if direct || staged + bytes.count > staging.count { try flushStaging() }
        if direct {
            try writeOut(bytes)
        } else if bytes.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + bytes.count)]).copyMemory(from: bytes)
            staged += bytes.count
        }
    }

    private func flushStaging() throws {
        guard staged > 0 else { return }
        try writeOut(UnsafeRawBufferPointer(rebasing: staging[0..<staged]))
        staged = 0
    }

    private func writeOut(_ bytes: UnsafeRawBufferPointer) throws {
        try FileSystem.writeFully(fd, bytes, path: temporaryPath)
        writeback?.wrote(bytes.count)
    }

    private func closePack() throws {
        let trailer = PackFormat.trailer(entries, cipher: cipher)
        try trailer.withUnsafeBytes { try append($0) }
        try flushStaging()
        writeback?.finish()
        nameHasher.update(trailer)
        let id = nameHasher.finalize()
        let (packFD, temporary, packEntries, packSize) = (fd, temporaryPath, entries, size)
        fd = -1
        backlog.wait()
        group.enter()
        finalizer.async { [self] in
            publishing.wait()
            defer {
                publishing.signal()
                backlog.signal()
                group.leave()
            }
            do {
                // An upload is durable when it returns; only a pack renamed into place is synced.
                if store.publishesTheFileItself && fsync(packFD) != 0 { throw KuraError.posix("cannot sync pack", temporary) }
                close(packFD)
                try store.publish(file: temporary, as: RepositoryLayout.packName(id))
                resultLock.lock()
                temporaryFiles.remove(temporary)
                finished.append(FinishedPack(id: id, entries: packEntries, size: packSize))
                resultLock.unlock()
            } catch {
                close(packFD)
                resultLock.lock()
                if finalizeError == nil { finalizeError = error }
                resultLock.unlock()
            }
        }
    }
}
