import Foundation

/// Writes a stream as an age file (age-encryption.org/v1), readable by the `age` command:
///
/// a random 16-byte file key, wrapped for each recipient in a header stanza (X25519: an
/// ephemeral key agreement, HKDF-SHA-256, ChaCha20-Poly1305; passphrase: scrypt, then
/// ChaCha20-Poly1305); the header's HMAC-SHA-256 under a key derived from the file key; a random
/// 16-byte nonce; the payload in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
/// HKDF(file key, nonce, "payload"), the chunk counter and a last-chunk flag in its nonce (so a
/// truncated or reordered file fails to open). Bytes go out through `output` as they are sealed.
final class AgeEncryptor {
    private let output: (UnsafeRawBufferPointer) throws -> Void
    private let payloadKey: [UInt8]
    private let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeFormat.chunkSize, alignment: 64)
    private let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeFormat.chunkSize + AgeFormat.tagSize, alignment: 64)
    private var filled = 0
    private var counter: UInt64 = 0
    private var finished = false

    /// Writes the header at once. A passphrase recipient must be the only one (the age format's
    /// rule: nobody else could then read the file without the passphrase).
    init(recipients: [AgeRecipient], scryptLogN: Int = AgeFormat.scryptLogN,
         output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !recipients.isEmpty else { throw KuraError.invalidArgument("an age file needs at least one recipient") }
        if recipients.count > 1, recipients.contains(where: { if case .passphrase = $0 { return true } else { return false } }) {
            throw KuraError.invalidArgument("a passphrase cannot be combined with other recipients (age's rule)")
        }
        self.output = output
        let fileKey = Primitives.randomBytes(AgeFormat.fileKeySize)
        var header = AgeFormat.version + "\n"
        for recipient in recipients {
            header += try Self.stanza(fileKey, for: recipient, scryptLogN: scryptLogN)
        }
        header += "---"
        let mac = Primitives.hmacSHA256(key: Primitives.hkdfSHA256(fileKey, salt: [], info: "header", count: 32), Array(header.utf8))
        header += " " + AgeFormat.base64(mac) + "\n"
        let nonce = Primitives.randomBytes(AgeFormat.payloadNonceSize)
        payloadKey = Primitives.hkdfSHA256(fileKey, salt: nonce, info: "payload", count: 32)
        try (Array(header.utf8) + nonce).withUnsafeBytes { try output($0) }
    }

    deinit {
        plain.deallocate()
        sealed.deallocate()
    }

    /// One recipient's stanza: `-> TYPE ARGS` and the wrapped file key, base64 in lines of 64.
    private static func stanza(_ fileKey: [UInt8], for recipient: AgeRecipient, scryptLogN: Int) throws -> String {
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let line: String, body: [UInt8]
        switch recipient {
        case .x25519(let publicKey):
            let ephemeral = Primitives.randomBytes(32)
            guard let share = Primitives.x25519PublicKey(of: ephemeral),
                  let shared = Primitives.x25519(scalar: ephemeral, point: publicKey) else {
                throw KuraError.invalidArgument("the age recipient \(Bech32.encode(hrp: "age", publicKey)) is not a usable X25519 key")
            }
            let key = Primitives.hkdfSHA256(shared, salt: share + publicKey, info: AgeFormat.x25519Label, count: 32)
            (line, body) = ("-> X25519 " + AgeFormat.base64(share), Primitives.seal(.chacha20Poly1305, key: key, nonce: zeroNonce, fileKey))
        case .passphrase(let passphrase):
            let salt = Primitives.randomBytes(16)
            guard let key = Primitives.scrypt(passphrase, salt: Array(AgeFormat.scryptLabel.utf8) + salt, logN: scryptLogN, count: 32) else {
                throw KuraError.invalidArgument("scrypt refused its parameters (work factor 2^\(scryptLogN))")
            }
            (line, body) = ("-> scrypt \(AgeFormat.base64(salt)) \(scryptLogN)", Primitives.seal(.chacha20Poly1305, key: key, nonce: zeroNonce, fileKey))
        }
        var text = line + "\n"
        var encoded = Substring(AgeFormat.base64(body))
        // Full 64-column lines, then a shorter final one (empty when the body fills its lines).
        while encoded.count >= 64 {
            text += encoded.prefix(64) + "\n"
            encoded = encoded.dropFirst(64)
        }
        return text + encoded + "\n"
    }

    /// Encrypts more of the stream.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            // A full chunk is sealed only once more data follows: the last chunk carries the flag.
            if filled == AgeFormat.chunkSize { try seal(last: false) }
            let count = min(AgeFormat.chunkSize - filled, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: plain[filled..<(filled + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            filled += count
            offset += count
        }
    }

    /// Seals the last chunk (empty only for an empty stream). Call once, at the end.
    func finish() throws {
        guard !finished else { return }
        finished = true
        try seal(last: true)
    }

    private func seal(last: Bool) throws {
        let out = UnsafeMutableRawBufferPointer(rebasing: sealed[0..<(filled + AgeFormat.tagSize)])
        Primitives.seal(.chacha20Poly1305, key: payloadKey, nonce: AgeFormat.chunkNonce(counter, last: last),
                        UnsafeRawBufferPointer(rebasing: plain[0..<filled]), into: out)
        try output(UnsafeRawBufferPointer(out))
        counter += 1
        filled = 0
    }
}
