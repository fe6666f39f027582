import Foundation

/// A documented archive on disk and the JSON beside it; an archive encrypted with age
/// (`X.tar.gz.age`) is read through `AgeDecryptor` with `identities`.
public struct ArchiveFile: Sendable {
    public let path: String
    /// What opens an encrypted archive (identity files' keys, a passphrase); unused otherwise.
    public let identities: [AgeIdentity]

    public init(path: String, identities: [AgeIdentity] = []) {
        self.path = path
        self.identities = identities
    }

    /// Whether the archive is age-encrypted (`.age`).
    public var isEncrypted: Bool { path.hasSuffix(".age") }

    /// `X.json` for `X.tar.gz` and for `X.tar.gz.age`.
    public var manifestPath: String {
        for suffix in [".tar.gz.age", ".tar.gz"] where path.hasSuffix(suffix) { return String(path.dropLast(suffix.count)) + ".json" }
        return path + ".json"
    }

    /// The archive's tar stream, decrypted on the way when it is encrypted.
    func tarReader() throws -> TarReader {
        let file = try FileByteSource(path: path)
        guard isEncrypted else { return try TarReader(source: file, path: path) }
        guard !identities.isEmpty else {
            throw KuraError.invalidArgument("\(path) is encrypted: give the identity file it was encrypted to (--identity FILE) or its passphrase (--password-file, KURA_PASSWORD_FILE)")
        }
        return try TarReader(source: try AgeDecryptor(source: file, path: path, identities: identities), path: path)
    }

    /// What the JSON beside the archive says, checked against the archive's SHA-256.
    public enum HashCheck: Equatable, Sendable {
        case matches
        case missingManifest
    }

    /// Checks the archive's SHA-256 against its JSON. A JSON that is unreadable or says another
    /// hash is an integrity error; a missing JSON is reported for the caller to decide.
    public func checkHash() throws -> HashCheck {
        guard FileSystem.exists(path) else { throw KuraError.noArchive(path: path) }
        guard FileSystem.exists(manifestPath) else { return .missingManifest }
        let expected = try Self.expectedHash(json: try FileSystem.readFile(manifestPath, limit: ArchiveManifest.maxFileSize),
                                             name: manifestPath)
        let actual = try sha256()
        guard actual == expected else {
            throw KuraError.integrity(.archive(path: path, .hashMismatch(actual: actual, expected: expected)))
        }
        return .matches
    }

    /// The archive's SHA-256 that a sidecar JSON announces (`"hash"`: 64 hex digits, lowercased);
    /// an integrity error naming `name` when the JSON is invalid or has no such hash.
    static func expectedHash(json bytes: [UInt8], name: String) throws -> String {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw KuraError.integrity(.archive(path: name, .invalidManifest))
        }
        guard let expected = (object as? [String: Any])?["hash"] as? String, expected.utf8.count == 64, Hex.isHex(expected) else {
            throw KuraError.integrity(.archive(path: name, .manifestWithoutHash))
        }
        return expected.lowercased()
    }

    /// SHA-256 (hex) of the archive, read in large blocks.
    public func sha256() throws -> String { try SHA256Hasher.hash(file: path).hex }

    /// Reads the whole archive without writing anything: every member's path checked, no member
    /// through a symlink member, content complete. Returns the members.
    func scan() throws -> [TarMember] {
        var members: [TarMember] = []
        var symlinks = Set<String>()
        try tarReader().forEachMember { member, content in
            var ancestor = FileSystem.parent(of: member.path)
            while ancestor != "." && ancestor != "/" {
                if symlinks.contains(ancestor) {
                    throw KuraError.integrity(.archive(path: path, .belowSymlink(member: member.path, symlink: ancestor)))
                }
                ancestor = FileSystem.parent(of: ancestor)
            }
            if case .symlink = member.kind { symlinks.insert(member.path) }
            try content { _ in }
            members.append(member)
        }
        return members
    }

    /// The dump member (`database_<db>.sql` or `.sqlite3`) at the top, if any.
    static func dumpMember(_ members: [TarMember]) -> TarMember? {
        members.first { !$0.path.contains("/") && $0.path.hasPrefix("database_") && $0.kind == .file
            && ($0.path.hasSuffix(".sql") || $0.path.hasSuffix(".sqlite3")) }
    }
}
