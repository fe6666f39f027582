/// Scratch buffers that hot loops keep and reuse (a pack, a span of chunks, a decoded chunk):
/// allocated once, replaced only when a larger one is needed.
extension UnsafeMutableRawBufferPointer {
    /// Makes the buffer at least `count` bytes long: a smaller one is freed and replaced by a new,
    /// 64-byte-aligned one (its contents are not kept).
    mutating func reserve(atLeast count: Int) {
        guard self.count < count else { return }
        deallocate()
        self = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
    }
}
