import Foundation

/// One `keys/<id>` file of an encrypted repository (docs/FORMAT.md, "Key files"): the master key
/// wrapped under a password. The wrapping key is scrypt(password) with the file's parameters;
/// the master key is sealed with AES-256-GCM under it, the repository id authenticated with it
/// (a key file moved to another repository does not open it). Its name is the SHA-256 of its
/// bytes; changing a password writes a new file and removes the old one.
public struct KeyFile: Codable, Equatable, Sendable {
    public var version = 1
    public var created: String
    public var host: String
    public var username: String
    public var kdf: ScryptParameters
    /// base64 of nonce (12) ‖ sealed master key (32) ‖ tag (16).
    var wrappedKey: String

    enum CodingKeys: String, CodingKey {
        case version, created, host, username, kdf
        case wrappedKey = "key"
    }

    /// A key file is a few hundred bytes; a larger file is not one.
    static let maxFileSize = 1 << 16

    /// What the wrapping authenticates besides the key: the repository it belongs to.
    static func associatedData(repositoryID: String) -> [UInt8] { Array("kura key v1 \(repositoryID)".utf8) }

    /// Wraps `masterKey` under `password` with `kdf` (the slow part: one scrypt).
    static func wrap(_ masterKey: MasterKey, password: [UInt8], kdf: ScryptParameters, repositoryID: String) throws -> KeyFile {
        let wrapping = try kdf.derive(password)
        let nonce = Primitives.randomBytes(12)
        let sealed = Primitives.seal(.aes256GCM, key: wrapping, nonce: nonce, masterKey.bytes,
                                     aad: associatedData(repositoryID: repositoryID))
        return KeyFile(created: Timestamp.now(), host: LockInfo.currentHost, username: LockInfo.currentUser,
                       kdf: kdf, wrappedKey: Data(nonce + sealed).base64EncodedString())
    }

    /// The master key when `password` opens this file; nil when it does not (one scrypt).
    func unwrap(password: [UInt8], repositoryID: String) throws -> MasterKey? {
        guard let raw = Data(base64Encoded: wrappedKey), raw.count == 12 + MasterKey.size + Primitives.tagSize else {
            throw KuraError.unsupportedFormat("its wrapped key is not \(12 + MasterKey.size + Primitives.tagSize) bytes of base64")
        }
        let bytes = [UInt8](raw)
        let wrapping = try kdf.derive(password)
        return Primitives.open(.aes256GCM, key: wrapping, nonce: Array(bytes[0..<12]), Array(bytes[12...]),
                               aad: Self.associatedData(repositoryID: repositoryID)).flatMap { MasterKey(bytes: $0) }
    }

    func encoded() throws -> [UInt8] { try [UInt8](JSONEncoder.kura.encode(self)) }

    static func decode(_ bytes: [UInt8]) throws -> KeyFile {
        let file = try JSONDecoder().decode(KeyFile.self, from: Data(bytes))
        guard file.version == 1 else { throw KuraError.unsupportedFormat("key file version \(file.version); upgrade kura") }
        try file.kdf.validate()
        return file
    }
}
