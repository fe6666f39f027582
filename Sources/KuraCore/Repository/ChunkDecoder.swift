/// Turns stored chunk blobs back into chunks: opens each one in an encrypted repository (raw
/// chunks straight into their destination, compressed ones into a reused buffer), then
/// decompresses it. Every reader of chunks (restore, export, verify, prune, copy) decodes through
/// one; checking the result against the chunk's id is the caller's. Not thread-safe: one per
/// worker.
final class ChunkDecoder {
    private let cipher: RepositoryCipher?
    private let decompressor = ChunkDecompressor()
    private var opened = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 64)

    init(cipher: RepositoryCipher?) { self.cipher = cipher }

    deinit { opened.deallocate() }

    /// The compressed form of a stored blob: the blob itself in a plain repository; opened into
    /// this decoder's buffer (valid until the next call) in an encrypted one; nil when it does
    /// not open (altered, or sealed under another key).
    func unseal(_ stored: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let cipher else { return stored }
        guard stored.count >= RepositoryCipher.overhead else { return nil }
        let length = stored.count - RepositoryCipher.overhead
        opened.reserve(atLeast: length)
        let output = UnsafeMutableRawBufferPointer(rebasing: opened[0..<length])
        return cipher.open(stored, into: output) ? UnsafeRawBufferPointer(output) : nil
    }

    /// Decodes a stored blob into `destination`, which must be exactly the chunk's plain length;
    /// false when it does not open or does not decode to exactly that many bytes.
    func decode(_ stored: UnsafeRawBufferPointer, codec: Codec, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        if let cipher, codec == .raw {
            return stored.count == destination.count + RepositoryCipher.overhead && cipher.open(stored, into: destination)
        }
        guard let compressed = unseal(stored) else { return false }
        return decompressor.decompress(compressed, codec: codec, into: destination)
    }
}
