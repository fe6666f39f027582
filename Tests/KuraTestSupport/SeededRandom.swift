/// The one seeded generator of the tests (xorshift64): the same seed gives the same bytes, so
/// that a failure reproduces.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    public mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// `count` deterministic pseudo-random bytes.
public func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        var index = 0
        while index < count {
            withUnsafeBytes(of: generator.next()) { word in
                for byte in word where index < count {
                    raw[index] = byte
                    index += 1
                }
            }
        }
    }
    return bytes
}
