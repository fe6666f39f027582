/// Where stored chunks go: the seam between the stages that produce stored chunk bytes (the
/// backup's `ChunkSaver`, prune's repacking, copy) and the packs that hold them. `PackWriter` is
/// the one implementation. A stored chunk is the blob exactly as the pack holds it: compressed,
/// and in an encrypted repository sealed by its producer (`ChunkSaver` seals on all cores;
/// prune moves blobs sealed already; copy reseals under the destination's key).
protocol ChunkStore: AnyObject {
    /// Bytes written so far, pack headers and trailers included.
    var bytesWritten: UInt64 { get }
    /// Appends one stored chunk (compressed with `codec` and sealed in an encrypted repository,
    /// `plainLength` bytes once decoded).
    func add(chunk: ChunkID, stored: UnsafeRawBufferPointer, codec: Codec, plainLength: Int) throws
    /// The packs that became durable since the last call, without waiting for the others.
    func takeFinished() throws -> [FinishedPack]
    /// Closes the open pack and waits until every pack is durable; returns those not yet taken.
    func finish() throws -> [FinishedPack]
    /// Drops what is not durable yet and removes its temp files.
    func abandon()
}

extension Repository {
    /// A new chunk store writing packs of the configured size into this repository.
    func makeChunkStore() -> ChunkStore {
        PackWriter(layout: layout, store: store, targetSize: config.packSize, cipher: cipher)
    }
}
