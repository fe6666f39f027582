import Foundation

/// Who an age file is encrypted to (age-encryption.org/v1): an X25519 public key (`age1…`) or a
/// passphrase (scrypt).
public enum AgeRecipient: Sendable {
    case x25519(publicKey: [UInt8])
    case passphrase([UInt8])

    /// Parses an `age1…` recipient (as `age-keygen` prints it).
    public init(parsing text: String) throws {
        guard let (hrp, data) = Bech32.decode(text.trimmingCharacters(in: .whitespaces)), hrp == "age", data.count == 32 else {
            throw KuraError.invalidArgument("'\(text)' is not an age recipient: expected age1… (the public key age-keygen prints)")
        }
        self = .x25519(publicKey: data)
    }
}

/// What opens an age file: an X25519 secret key (`AGE-SECRET-KEY-1…`, from an identity file) or
/// a passphrase.
public enum AgeIdentity: Sendable {
    case x25519(secretKey: [UInt8])
    case passphrase([UInt8])

    /// The identities of an identity file as `age-keygen` writes it: one `AGE-SECRET-KEY-1…` per
    /// line; blank lines and `#` comments skipped. An error names the file and line.
    public static func load(file path: String) throws -> [AgeIdentity] {
        let bytes = try FileSystem.readFile(path, limit: 1 << 20)
        var identities: [AgeIdentity] = []
        for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            guard let (hrp, data) = Bech32.decode(text), hrp == "age-secret-key-", data.count == 32 else {
                throw KuraError.invalidArgument("\(path) line \(number + 1) is not an age identity (AGE-SECRET-KEY-1…)")
            }
            identities.append(.x25519(secretKey: data))
        }
        guard !identities.isEmpty else { throw KuraError.invalidArgument("\(path) holds no age identity (AGE-SECRET-KEY-1…)") }
        return identities
    }

    /// A new random X25519 identity: its secret key and its recipient, both as text.
    public static func generate() -> (identity: String, recipient: String) {
        let secret = Primitives.randomBytes(32)
        let publicKey = Primitives.x25519PublicKey(of: secret) ?? []
        return (Bech32.encode(hrp: "age-secret-key-", secret).uppercased(), Bech32.encode(hrp: "age", publicKey))
    }
}

/// What the age format fixes (age-encryption.org/v1): labels, sizes, and its base64 (standard
/// alphabet, no padding, canonical).
extension AgeIdentity {
    /// Whether the age file at `path` is encrypted with a passphrase (its header has an scrypt
    /// stanza), so that a command asks the password sources for one; a file encrypted to X25519
    /// keys needs `--identity` instead. False when the file cannot be read as age (the reader
    /// then says what is wrong).
    public static func wantsPassphrase(_ path: String) -> Bool {
        var head = [UInt8](repeating: 0, count: 64 << 10)
        guard let source = try? FileByteSource(path: path),
              let count = try? head.withUnsafeMutableBytes({ try source.readFully(into: $0) }) else { return false }
        let lines = String(decoding: head.prefix(count), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(AgeFormat.version) else { return false }
        for line in lines.dropFirst() {
            if line.hasPrefix("---") { return false }
            if line.hasPrefix("-> scrypt ") { return true }
        }
        return false
    }
}

enum AgeFormat {
    static let version = "age-encryption.org/v1"
    static let x25519Label = "age-encryption.org/v1/X25519"
    static let scryptLabel = "age-encryption.org/v1/scrypt"
    static let fileKeySize = 16
    static let chunkSize = 64 << 10
    static let tagSize = 16
    static let payloadNonceSize = 16
    /// scrypt work factor for passphrase encryption (age's own: 2^18, about 1 s here).
    static let scryptLogN = 18
    /// The largest scrypt work factor accepted when decrypting: 2^20 takes 1 GiB of memory (age
    /// itself writes 2^18 and reads up to 2^22, 4 GiB — more than a backup command may take).
    static let maxScryptLogN = 20
    /// Headers longer than this are refused before anything is parsed.
    static let maxHeaderSize = 1 << 20

    static func base64(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// Decodes unpadded base64, refusing padding and non-canonical trailing bits.
    static func unbase64(_ text: Substring) -> [UInt8]? {
        guard !text.contains("="), !text.contains("\r"), !text.contains("\n") else { return nil }
        var padded = String(text)
        while padded.utf8.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded) else { return nil }
        let bytes = [UInt8](data)
        return base64(bytes) == text ? bytes : nil
    }

    /// The 12-byte nonce of payload chunk `counter`: the counter big-endian in 11 bytes, then 1
    /// for the last chunk, else 0.
    static func chunkNonce(_ counter: UInt64, last: Bool) -> [UInt8] {
        [0, 0, 0] + withUnsafeBytes(of: counter.bigEndian) { Array($0) } + [last ? 1 : 0]
    }
}
