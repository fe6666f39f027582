import CCrypto
import Foundation

/// The cryptographic primitives Kura uses, each a thin call into OpenSSL (libcrypto 3.0): random
/// bytes, X25519, HMAC-SHA-256 and HKDF-SHA-256 (RFC 5869), ChaCha20-Poly1305 (RFC 8439) and
/// scrypt (RFC 7914). Nothing here is invented: the formats above them (`AgeEncryptor`,
/// `AgeDecryptor`) say which is used how.
enum Primitives {
    /// `count` bytes from OpenSSL's CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        // RAND_bytes fails only when the generator cannot be seeded: no safe way to go on.
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { fatalError("RAND_bytes failed: the system has no entropy source") }
        return bytes
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

    /// ChaCha20-Poly1305 (RFC 8439) with a 32-byte key and a 12-byte nonce: the ciphertext and
    /// its 16-byte tag.
    static func chachaSeal(key: [UInt8], nonce: [UInt8], _ plaintext: UnsafeRawBufferPointer,
                           into output: UnsafeMutableRawBufferPointer) {
        precondition(key.count == 32 && nonce.count == 12 && output.count == plaintext.count + 16)
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new: out of memory") }
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // With a valid key and nonce (checked above) these calls cannot fail but for memory.
        guard EVP_EncryptInit_ex(context, EVP_chacha20_poly1305(), nil, key, nonce) == 1,
              EVP_EncryptUpdate(context, out, &length, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)) == 1,
              EVP_EncryptFinal_ex(context, out.map { $0 + Int(length) }, &length) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, output.baseAddress.map { $0 + plaintext.count }) == 1 else {
            fatalError("ChaCha20-Poly1305 encryption failed")
        }
    }

    /// Opens what `chachaSeal` made: false when the tag does not match (wrong key or altered bytes).
    static func chachaOpen(key: [UInt8], nonce: [UInt8], _ sealed: UnsafeRawBufferPointer,
                           into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard key.count == 32, nonce.count == 12, sealed.count >= 16, output.count == sealed.count - 16,
              let context = EVP_CIPHER_CTX_new() else { return false }
        defer { EVP_CIPHER_CTX_free(context) }
        var length: Int32 = 0
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var tag = [UInt8](UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - 16)...]))
        guard EVP_DecryptInit_ex(context, EVP_chacha20_poly1305(), nil, key, nonce) == 1,
              EVP_DecryptUpdate(context, out, &length, sealed.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(output.count)) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, 16, &tag) == 1,
              EVP_DecryptFinal_ex(context, out.map { $0 + Int(length) }, &length) == 1 else { return false }
        return true
    }

    /// Array conveniences for small messages (wrapped keys).
    static func chachaSeal(key: [UInt8], nonce: [UInt8], _ plaintext: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + 16)
        plaintext.withUnsafeBytes { p in output.withUnsafeMutableBytes { chachaSeal(key: key, nonce: nonce, p, into: $0) } }
        return output
    }

    static func chachaOpen(key: [UInt8], nonce: [UInt8], _ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 16 else { return nil }
        var output = [UInt8](repeating: 0, count: sealed.count - 16)
        let ok = sealed.withUnsafeBytes { s in output.withUnsafeMutableBytes { chachaOpen(key: key, nonce: nonce, s, into: $0) } }
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
