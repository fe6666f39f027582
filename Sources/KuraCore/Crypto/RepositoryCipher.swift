/// Seals and opens what an encrypted repository stores (docs/FORMAT.md, "Encryption"): each
/// chunk blob in a pack, each pack trailer, each whole object (index files, snapshot records,
/// verification records) becomes `nonce (12 random bytes) ‖ ciphertext ‖ tag (16)`, AES-256-GCM
/// under the repository's data key. A blob opens alone, so ranged reads of packs still work.
/// Thread-safe: it holds only the key.
public final class RepositoryCipher: Sendable {
    /// HKDF-SHA-256(master key, no salt, this info): the AES-256-GCM key of stored objects.
    static let dataKeyInfo = "kura repository data key v1"
    static let nonceSize = 12
    /// Bytes a sealed blob has beyond its plaintext: nonce and tag.
    public static let overhead = nonceSize + Primitives.tagSize

    private let key: [UInt8]

    public init(masterKey: MasterKey) {
        key = Primitives.hkdfSHA256(masterKey.bytes, salt: [], info: Self.dataKeyInfo, count: 32)
    }

    /// Seals `plaintext` into `output`, which is exactly `overhead` bytes longer. `plaintext` may
    /// lie at `output[12...]` already (sealed in place, no copy).
    public func seal(_ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count == plaintext.count + Self.overhead)
        let nonce = UnsafeMutableRawBufferPointer(rebasing: output[0..<Self.nonceSize])
        Primitives.fillRandom(nonce)
        key.withUnsafeBytes { key in
            Primitives.seal(.aes256GCM, key: key, nonce: UnsafeRawBufferPointer(nonce), plaintext,
                            into: UnsafeMutableRawBufferPointer(rebasing: output[Self.nonceSize...]))
        }
    }

    /// Opens a sealed blob into `output`, exactly `overhead` bytes shorter; false when the blob
    /// was not sealed under this key or was altered.
    public func open(_ sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard sealed.count >= Self.overhead, output.count == sealed.count - Self.overhead else { return false }
        return key.withUnsafeBytes { key in
            Primitives.open(.aes256GCM, key: key, nonce: UnsafeRawBufferPointer(rebasing: sealed[0..<Self.nonceSize]),
                            UnsafeRawBufferPointer(rebasing: sealed[Self.nonceSize...]), into: output)
        }
    }

    /// A whole object, sealed.
    public func seal(_ plaintext: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + Self.overhead)
        plaintext.withUnsafeBytes { p in output.withUnsafeMutableBytes { seal(p, into: $0) } }
        return output
    }

    /// A whole object, opened; nil when it was altered or sealed under another key.
    public func open(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= Self.overhead else { return nil }
        var output = [UInt8](repeating: 0, count: sealed.count - Self.overhead)
        let ok = sealed.withUnsafeBytes { s in output.withUnsafeMutableBytes { open(s, into: $0) } }
        return ok ? output : nil
    }
}
