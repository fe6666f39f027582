import Foundation

/// The repository's `config` file: written once by `init`, never changed.
public struct RepositoryConfig: Codable, Equatable, Sendable {
    /// Always `kura-repository`.
    public var format: String
    /// The on-disk format version (docs/FORMAT.md).
    public var version: Int
    /// 64 random hex digits; names the local cache of this repository.
    public var id: String
    public var created: String
    /// How media files and dumps are cut into chunks.
    public var chunker: ChunkerParameters
    /// How snapshot databases are cut into chunks.
    public var treeChunker: ChunkerParameters
    /// How database dumps are cut; absent in repositories made before it existed (their dumps
    /// are cut with `chunker`, so the same bytes keep cutting the same way).
    public var dumpChunker: ChunkerParameters?
    /// Default compression of new chunks, as `zstd:1`, `zlib:6` or `none`.
    public var compression: String
    /// Target size of a pack file in bytes.
    public var packSize: Int
    /// `aes-256-gcm` in an encrypted repository (version 2); absent in a plain one (version 1).
    public var encryption: String?
    /// In an encrypted repository: what tells the right master key from a wrong one (a paper key
    /// of another repository), `MasterKey.check(repositoryID:)`.
    public var keyCheck: String?

    public static let formatName = "kura-repository"
    /// A plain repository: objects stored as they are.
    public static let plainVersion = 1
    /// An encrypted repository: `keys/`, every object sealed (docs/FORMAT.md, "Encryption").
    /// A build that reads only version 1 refuses it ("upgrade kura") instead of misreading it.
    public static let encryptedVersion = 2
    public static let encryptionAlgorithm = "aes-256-gcm"

    /// Whether the repository's objects are sealed (`RepositoryCipher`).
    public var isEncrypted: Bool { encryption != nil }

    enum CodingKeys: String, CodingKey {
        case format, version, id, created, chunker, compression
        case treeChunker = "tree_chunker", dumpChunker = "dump_chunker"
        case packSize = "pack_size", encryption, keyCheck = "key_check"
    }

    /// A new configuration with a fresh random id.
    /// A new configuration with a fresh random id (`Repository.initialize` makes it an encrypted
    /// one when it is given a password).
    public static func new(chunker: ChunkerParameters = .data, compression: CompressionSetting = .default,
                           packSize: Int = 16 << 20) -> RepositoryConfig {
        var generator = SystemRandomNumberGenerator()
        let id = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return RepositoryConfig(format: formatName, version: plainVersion, id: id, created: Timestamp.now(),
                                chunker: chunker, treeChunker: .tree, dumpChunker: .dump, compression: compression.description,
                                packSize: packSize, encryption: nil, keyCheck: nil)
    }

    /// The parameters database dumps are cut with in this repository.
    public var chunkerForDumps: ChunkerParameters { dumpChunker ?? chunker }

    /// Checks that this version can read and write a repository with this configuration.
    /// A config (or a lock file) is a few hundred bytes; a larger file is not one.
    static let maxFileSize = 1 << 20

    /// The largest `pack_size` a config may ask for.
    static let maxPackSize = 1 << 30

    /// The largest pack file this repository can hold: a pack is closed once it reaches
    /// `pack_size`, so it holds at most that, one more chunk, and a trailer of 49 bytes for each
    /// chunk of at least 64 bytes. A larger file is damage, refused before it is read into memory.
    var maxPackFileSize: Int {
        2 * packSize + 2 * Int(PackEntry.maxStoredLength)
    }

    public func validate() throws {
        guard format == Self.formatName else { throw KuraError.unsupportedFormat("config format '\(format)'") }
        guard version == Self.plainVersion || version == Self.encryptedVersion else {
            throw KuraError.unsupportedFormat("version \(version) (this kura reads versions \(Self.plainVersion) and \(Self.encryptedVersion)); upgrade kura")
        }
        guard (version == Self.encryptedVersion) == (encryption != nil), encryption.map({ $0 == Self.encryptionAlgorithm }) ?? true,
              (encryption != nil) == (keyCheck.map { $0.utf8.count == 32 && Hex.isHex($0) } ?? false) else {
            throw KuraError.unsupportedFormat("version \(version) with encryption '\(encryption ?? "none")'")
        }
        guard id.utf8.count == 64, Hex.isHex(id) else { throw KuraError.unsupportedFormat("config id '\(id)'") }
        try chunker.validate()
        try treeChunker.validate()
        try dumpChunker?.validate()
        _ = try CompressionSetting(parsing: compression)
        guard packSize >= 1 << 20, packSize <= Self.maxPackSize else { throw KuraError.unsupportedFormat("pack_size \(packSize)") }
    }
}
