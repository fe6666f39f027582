import CCrypto
import Foundation

/// The cryptographic primitives Kura uses, each a thin call into OpenSSL (libcrypto 3.0): random
/// bytes, X25519, HMAC-SHA-256 and HKDF-SHA-256 (RFC 5869), ChaCha20-Poly1305 (RFC 8439),
/// AES-256-GCM and scrypt (RFC 7914). Nothing here is invented: the formats above them (`AgeEncryptor`,
/// `AgeDecryptor`) say which is used how.
enum Primitives {
    /// `count` bytes from OpenSSL's CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        // RAND_bytes fails only when the generator cannot be seeded: no safe way to go on.
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { fatalError("RAND_bytes failed: the system has no entropy source") }
        return bytes
    }

    /// Fills `buffer` from OpenSSL's CSPRNG.
    static func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        guard RAND_bytes(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            fatalError("RAND_bytes failed: the system has no entropy source")
        }
    }

    /// X25519(scalar, point) (RFC 7748); nil when the result is all zeros (a low-order point).
    static func x25519(scalar: [UInt8], point: [UInt8]) -> [UInt8]? {
        guard scalar.count == 32, point.count == 32,
              let privateKey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, scalar, 32) else { return nil }
        defer { EVP_PKEY_free(privateKey) }
        guard let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, point, 32) else { return nil }
        defer { EVP_PKEY_free(peer) }
        guard let context = EVP_PKEY_CTX_new(privateKey, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(context) }
        var shared = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, peer) == 1,
              EVP_PKEY_derive(context, &shared, &length) == 1, length == 32, shared.contains(where: { $0 != 0 }) else { return nil }
        return shared
    }

    /// The X25519 public key of a 32-byte secret scalar.
    static func x25519PublicKey(of scalar: [UInt8]) -> [UInt8]? {
        guard scalar.count == 32, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, scalar, 32) else { return nil }
        defer { EVP_PKEY_free(key) }
        var point = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(key, &point, &length) == 1, length == 32 else { return nil }
        return point
    }

    static func hmacSHA256(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        _ = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &length)
            }
        }
        return out
    }

    /// HKDF-SHA-256 (RFC 5869) of up to 32 × 255 bytes.
    static func hkdfSHA256(_ secret: [UInt8], salt: [UInt8], info: String, count: Int) -> [UInt8] {
        let key = hmacSHA256(key: salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt, secret)
        var output: [UInt8] = []
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < count {
            block = hmacSHA256(key: key, block + Array(info.utf8) + [counter])
            output += block
            counter += 1
        }
        return Array(output.prefix(count))
    }

    /// The two AEADs Kura uses, each with a 32-byte key, a 12-byte nonce and a 16-byte tag:
    /// ChaCha20-Poly1305 (RFC 8439; age's) and AES-256-GCM (NIST SP 800-38D; encrypted
    /// repositories', AES-NI makes it the faster one here).
    enum AEAD {
        case chacha20Poly1305, aes256GCM

        fileprivate var cipher: OpaquePointer? {
            switch self {
            case .chacha20Poly1305: return EVP_chacha20_poly1305()
            case .aes256GCM: return EVP_aes_256_gcm()
            }
        }
    }

    static let tagSize = 16

    /// Encrypts `plaintext` into `output` (its ciphertext, then the 16-byte tag), authenticating
    /// `aad` too. `output` is exactly 16 bytes longer and may begin where `plaintext` does
    /// (sealing in place).
    static func seal(_ algorithm: AEAD, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                     _ plaintext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer? = nil, into output: UnsafeMutableRawBufferPointer) {
        precondition(key.count == 32 && nonce.count == 12 && output.count == plaintext.count + tagSize)
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new: out of memory") }
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // With a valid key and nonce (checked above) these calls cannot fail but for memory.
        guard EVP_EncryptInit_ex(context, algorithm.cipher, nil, bytes(key), bytes(nonce)) == 1,
              authenticate(aad, context, encrypting: true),
              EVP_EncryptUpdate(context, out, &length, bytes(plaintext), Int32(plaintext.count)) == 1,
              EVP_EncryptFinal_ex(context, out.map { $0 + Int(length) }, &length) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(tagSize), output.baseAddress.map { $0 + plaintext.count }) == 1 else {
            fatalError("\(algorithm) encryption failed")
        }
    }

    /// Opens what `seal` made into `output` (exactly 16 bytes shorter than `sealed`; it may begin
    /// where `sealed` does): false when the tag does not match (wrong key, altered bytes or `aad`).
    static func open(_ algorithm: AEAD, key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                     _ sealed: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer? = nil, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard key.count == 32, nonce.count == 12, sealed.count >= tagSize, output.count == sealed.count - tagSize,
              output.count <= Int(Int32.max), let context = EVP_CIPHER_CTX_new() else { return false }
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // Copied first: opening in place overwrites what precedes it, never the tag itself.
        var tag = [UInt8](UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - tagSize)...]))
        guard EVP_DecryptInit_ex(context, algorithm.cipher, nil, bytes(key), bytes(nonce)) == 1,
              authenticate(aad, context, encrypting: false),
              EVP_DecryptUpdate(context, out, &length, bytes(sealed), Int32(output.count)) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(tagSize), &tag) == 1,
              EVP_DecryptFinal_ex(context, out.map { $0 + Int(length) }, &length) == 1 else { return false }
        return true
    }

    private static func bytes(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    /// Feeds associated data (authenticated, not encrypted) to an AEAD context.
    private static func authenticate(_ aad: UnsafeRawBufferPointer?, _ context: OpaquePointer, encrypting: Bool) -> Bool {
        guard let aad, !aad.isEmpty else { return true }
        var length: Int32 = 0
        return encrypting ? EVP_EncryptUpdate(context, nil, &length, bytes(aad), Int32(aad.count)) == 1
                          : EVP_DecryptUpdate(context, nil, &length, bytes(aad), Int32(aad.count)) == 1
    }

    /// `seal` with the key and nonce as arrays.
    static func seal(_ algorithm: AEAD, key: [UInt8], nonce: [UInt8], _ plaintext: UnsafeRawBufferPointer,
                     aad: [UInt8] = [], into output: UnsafeMutableRawBufferPointer) {
        key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in aad.withUnsafeBytes { seal(algorithm, key: k, nonce: n, plaintext, aad: $0, into: output) } }
        }
    }

    /// `open` with the key and nonce as arrays.
    static func open(_ algorithm: AEAD, key: [UInt8], nonce: [UInt8], _ sealed: UnsafeRawBufferPointer,
                     aad: [UInt8] = [], into output: UnsafeMutableRawBufferPointer) -> Bool {
        key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in aad.withUnsafeBytes { open(algorithm, key: k, nonce: n, sealed, aad: $0, into: output) } }
        }
    }

    /// Array conveniences for small messages (wrapped keys).
    static func seal(_ algorithm: AEAD, key: [UInt8], nonce: [UInt8], _ plaintext: [UInt8], aad: [UInt8] = []) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        plaintext.withUnsafeBytes { p in output.withUnsafeMutableBytes { seal(algorithm, key: key, nonce: nonce, p, aad: aad, into: $0) } }
        return output
    }

    static func open(_ algorithm: AEAD, key: [UInt8], nonce: [UInt8], _ sealed: [UInt8], aad: [UInt8] = []) -> [UInt8]? {
        guard sealed.count >= tagSize else { return nil }
        var output = [UInt8](repeating: 0, count: sealed.count - tagSize)
        let ok = sealed.withUnsafeBytes { s in output.withUnsafeMutableBytes { open(algorithm, key: key, nonce: nonce, s, aad: aad, into: $0) } }
        return ok ? output : nil
    }

    /// scrypt (RFC 7914) with N = 2^logN; nil when OpenSSL refuses the parameters.
    static func scrypt(_ password: [UInt8], salt: [UInt8], logN: Int, r: UInt64 = 8, p: UInt64 = 1, count: Int) -> [UInt8]? {
        var key = [UInt8](repeating: 0, count: count)
        let memory = UInt64(128) * r * (UInt64(1) << UInt64(logN)) + (64 << 20)
        let characters = password.map { CChar(bitPattern: $0) }
        let ok = EVP_PBE_scrypt(characters, characters.count, salt, salt.count, UInt64(1) << UInt64(logN), r, p, memory, &key, count)
        return ok == 1 ? key : nil
    }
}
