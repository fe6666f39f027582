import Foundation

/// Reads an age file (age-encryption.org/v1, see `AgeEncryptor`) as the plaintext stream.
///
/// The header is parsed and checked before any plaintext is returned: the file key is unwrapped
/// with the first identity that matches a stanza (each stanza tried once per identity of its
/// type; an scrypt work factor above 2^20 refused: memory stays bounded), then the header's MAC is checked. Every
/// payload chunk is authenticated before it is returned; a stream that ends before its
/// last-flagged chunk, or goes on after it, is an integrity error. Errors name `path`.
final class AgeDecryptor: ByteSource {
    private let source: ByteSource
    private let path: String
    private var payloadKey: [UInt8] = []
    /// A sealed chunk and one byte more (to know whether it is the last).
    private let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeFormat.chunkSize + AgeFormat.tagSize + 1, alignment: 64)
    /// Bytes read from the source and not used yet (the header's read-ahead, the byte after a chunk).
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: AgeFormat.chunkSize, alignment: 64)
    private var plainStart = 0, plainEnd = 0
    private var counter: UInt64 = 0
    private var sawLast = false

    init(source: ByteSource, path: String, identities: [AgeIdentity]) throws {
        self.source = source
        self.path = path
        try readHeader(identities)
    }

    deinit {
        sealed.deallocate()
        plain.deallocate()
    }

    private func damage(_ kind: ArchiveDamage) -> KuraError { KuraError.integrity(.archive(path: path, kind)) }

    // MARK: Header

    /// Reads one `\n`-terminated header line (without the newline); `bytesSoFar` bounds the
    /// header's size.
    private func readLine(_ bytesSoFar: inout Int) throws -> String {
        var line: [UInt8] = []
        while true {
            if pendingStart == pending.count {
                var piece = [UInt8](repeating: 0, count: 4096)
                let got = try piece.withUnsafeMutableBytes { try source.read(into: $0) }
                guard got > 0 else {
                    throw damage(.notAge(reason: bytesSoFar == 0 && line.isEmpty ? "it is empty" : "its header ends early"))
                }
                (pending, pendingStart) = (Array(piece.prefix(got)), 0)
            }
            let byte = pending[pendingStart]
            pendingStart += 1
            bytesSoFar += 1
            guard bytesSoFar <= AgeFormat.maxHeaderSize else { throw damage(.notAge(reason: "no header end in its first MiB")) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    private struct Stanza {
        var arguments: [Substring]
        var body: [UInt8]
    }

    private func readHeader(_ identities: [AgeIdentity]) throws {
        var size = 0
        var text = try readLine(&size)
        guard text == AgeFormat.version else {
            throw damage(.notAge(reason: text.hasPrefix("age-encryption.org/") ? "unsupported version '\(text.prefix(40))'" : "no age header"))
        }
        var headerBytes = Array((text + "\n").utf8)
        var stanzas: [Stanza] = []
        var macLine: Substring = ""
        while true {
            text = try readLine(&size)
            if text.hasPrefix("--- ") || text == "---" {
                headerBytes += Array("---".utf8)
                macLine = text.dropFirst(4)
                break
            }
            guard text.hasPrefix("-> ") else { throw damage(.notAge(reason: "a header line is neither a stanza nor its end")) }
            headerBytes += Array((text + "\n").utf8)
            let arguments = text.dropFirst(3).split(separator: " ", omittingEmptySubsequences: false)
            guard !arguments.isEmpty, arguments.allSatisfy({ !$0.isEmpty }) else { throw damage(.notAge(reason: "a stanza has an empty argument")) }
            var body: [UInt8] = []
            while true {
                let line = try readLine(&size)
                headerBytes += Array((line + "\n").utf8)
                guard line.utf8.count <= 64, let decoded = AgeFormat.unbase64(Substring(line)) else {
                    throw damage(.notAge(reason: "a stanza body is not base64 in lines of 64"))
                }
                body += decoded
                if line.utf8.count < 64 { break }
            }
            stanzas.append(Stanza(arguments: arguments, body: body))
        }
        guard let mac = AgeFormat.unbase64(macLine), mac.count == 32 else { throw damage(.notAge(reason: "its header MAC is not 32 bytes of base64")) }
        guard let fileKey = try unwrap(stanzas, identities) else { throw damage(.noMatchingKey) }
        guard Primitives.hmacSHA256(key: Primitives.hkdfSHA256(fileKey, salt: [], info: "header", count: 32), headerBytes) == mac else {
            throw damage(.ageHeaderDamaged)
        }
        var nonce = [UInt8](repeating: 0, count: AgeFormat.payloadNonceSize)
        let got = try nonce.withUnsafeMutableBytes { try readAhead(into: $0) }
        guard got == nonce.count else { throw damage(.ageTruncated) }
        payloadKey = Primitives.hkdfSHA256(fileKey, salt: nonce, info: "payload", count: 32)
    }

    /// The file key from the first stanza an identity opens; nil when none does.
    private func unwrap(_ stanzas: [Stanza], _ identities: [AgeIdentity]) throws -> [UInt8]? {
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let scrypts = stanzas.filter { $0.arguments[0] == "scrypt" }
        if !scrypts.isEmpty && stanzas.count > 1 { throw damage(.notAge(reason: "an scrypt stanza is not alone")) }
        for stanza in stanzas {
            switch stanza.arguments[0] {
            case "X25519":
                guard stanza.arguments.count == 2, let share = AgeFormat.unbase64(stanza.arguments[1]), share.count == 32,
                      stanza.body.count == 32 else { throw damage(.notAge(reason: "an X25519 stanza is malformed")) }
                for case .x25519(let secret) in identities {
                    guard let publicKey = Primitives.x25519PublicKey(of: secret),
                          let shared = Primitives.x25519(scalar: secret, point: share) else { continue }
                    let key = Primitives.hkdfSHA256(shared, salt: share + publicKey, info: AgeFormat.x25519Label, count: 32)
                    if let fileKey = Primitives.open(.chacha20Poly1305, key: key, nonce: zeroNonce, stanza.body), fileKey.count == AgeFormat.fileKeySize {
                        return fileKey
                    }
                }
            case "scrypt":
                guard stanza.arguments.count == 3, let salt = AgeFormat.unbase64(stanza.arguments[1]), salt.count == 16,
                      let logN = Int(stanza.arguments[2]), String(logN) == stanza.arguments[2], logN > 0,
                      stanza.body.count == 32 else { throw damage(.notAge(reason: "an scrypt stanza is malformed")) }
                guard logN <= AgeFormat.maxScryptLogN else {
                    throw damage(.notAge(reason: "its scrypt work factor 2^\(logN) is above 2^\(AgeFormat.maxScryptLogN)"))
                }
                for case .passphrase(let passphrase) in identities {
                    guard let key = Primitives.scrypt(passphrase, salt: Array(AgeFormat.scryptLabel.utf8) + salt, logN: logN, count: 32) else { continue }
                    if let fileKey = Primitives.open(.chacha20Poly1305, key: key, nonce: zeroNonce, stanza.body), fileKey.count == AgeFormat.fileKeySize {
                        return fileKey
                    }
                }
            default:
                continue  // a recipient type Kura does not hold keys for (ssh-ed25519, plugins…)
            }
        }
        return nil
    }

    // MARK: Payload

    /// Reads the next bytes after the header: first those pending, then from the source; fills
    /// `buffer` unless the stream ends.
    private func readAhead(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(pending.count - pendingStart, buffer.count)
        if count > 0 {
            pending.withUnsafeBytes { bytes in
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[pendingStart..<(pendingStart + count)]))
            }
            pendingStart += count
        }
        return count + (count < buffer.count ? try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...])) : 0)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if plainStart == plainEnd {
            guard !sawLast else { return 0 }
            try openNextChunk()
        }
        let count = min(buffer.count, plainEnd - plainStart)
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: plain[plainStart..<(plainStart + count)]))
        plainStart += count
        return count
    }

    /// Authenticates the next chunk into `plain`. A full chunk followed by more bytes is a middle
    /// chunk; anything else must be the last.
    private func openNextChunk() throws {
        let full = AgeFormat.chunkSize + AgeFormat.tagSize
        let have = try readAhead(into: sealed)
        let last = have <= full
        let length = min(have, full)
        // Only an empty stream has an empty last chunk; anything shorter than a tag is cut.
        guard length >= AgeFormat.tagSize, !(length == AgeFormat.tagSize && counter > 0) else { throw damage(.ageTruncated) }
        let stored = UnsafeRawBufferPointer(rebasing: sealed[0..<length])
        let opened = UnsafeMutableRawBufferPointer(rebasing: plain[0..<(length - AgeFormat.tagSize)])
        guard Primitives.open(.chacha20Poly1305, key: payloadKey, nonce: AgeFormat.chunkNonce(counter, last: last), stored, into: opened) else {
            // Authentic under the other flag: a last chunk followed by more (trailing data), or a
            // middle chunk where the file ends (cut at a chunk boundary). Else altered bytes.
            let other = Primitives.open(.chacha20Poly1305, key: payloadKey, nonce: AgeFormat.chunkNonce(counter, last: !last), stored, into: opened)
            throw damage(other ? (last ? .ageTruncated : .ageTrailingData) : .ageDamaged)
        }
        if last {
            sawLast = true
        } else {
            (pending, pendingStart) = ([sealed[full]], 0)
        }
        counter += 1
        plainStart = 0
        plainEnd = length - AgeFormat.tagSize
    }
}
