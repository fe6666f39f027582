/// An encrypted repository's master key: 32 random bytes, made once by `kura init` and never
/// changed. Every key file (`keys/<id>`) holds it wrapped under a password; the data key that
/// seals stored objects is derived from it (`RepositoryCipher`). Its paper form
/// (`kura key export --paper`) opens the repository when every password is lost.
public struct MasterKey: Equatable, Sendable {
    /// The 32 secret bytes.
    let bytes: [UInt8]

    static let size = 32
    /// The Bech32 human-readable part of the paper form: `KURA-MASTER-KEY-1…`.
    static let paperPrefix = "kura-master-key-"

    init?(bytes: [UInt8]) {
        guard bytes.count == Self.size else { return nil }
        self.bytes = bytes
    }

    /// A fresh random master key.
    static func generate() -> MasterKey {
        MasterKey(unchecked: Primitives.randomBytes(size))
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// 16 bytes of HMAC-SHA-256(master key, "kura master key check " + repository id), in hex:
    /// stored in an encrypted repository's config so that a wrong paper key is refused before
    /// anything is written with it. Reveals nothing of the key.
    func check(repositoryID: String) -> String {
        Hex.encode(Primitives.hmacSHA256(key: bytes, Array("kura master key check \(repositoryID)".utf8)).prefix(16))
    }

    /// The key as one line of Bech32 (`KURA-MASTER-KEY-1…`, 74 characters with a checksum that
    /// catches a mistyped character), to print and keep in a safe.
    public var paperText: String {
        Bech32.encode(hrp: Self.paperPrefix, bytes).uppercased()
    }

    /// Reads the paper form back from a file (as `kura key export --paper` printed it, or typed).
    public init(paperFile path: String) throws {
        try self.init(paperText: String(decoding: try FileSystem.readFile(path, limit: 1 << 16), as: UTF8.self))
    }

    /// Reads the paper form back: the first line that is a `KURA-MASTER-KEY-1…` key (other lines,
    /// such as the heading `kura key export --paper` prints, are skipped).
    public init(paperText text: String) throws {
        for line in text.split(whereSeparator: \.isNewline) {
            let word = line.trimmingCharacters(in: .whitespaces)
            guard word.uppercased().hasPrefix("KURA-MASTER-KEY-1") else { continue }
            guard let (hrp, data) = Bech32.decode(word), hrp == Self.paperPrefix, let key = MasterKey(bytes: data) else {
                throw KuraError.invalidArgument("'\(word.prefix(20))…' is not a Kura master key: a character is wrong or missing (the checksum does not match)")
            }
            self = key
            return
        }
        throw KuraError.invalidArgument("no KURA-MASTER-KEY-1… line found: give the file 'kura key export --paper' printed")
    }
}
