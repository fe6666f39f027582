/// How a documented archive (`.tar.gz` and its JSON) is damaged, hostile or incomplete. Every
/// refusal of the tar and gzip readers is one of these; nothing is written from such an archive.
public enum ArchiveDamage: Equatable, Sendable {
    // gzip
    case empty
    case gzipTruncated
    case notGzip(reason: String)
    case trailingGzipData
    // age (an encrypted archive, `.tar.gz.age`)
    case notAge(reason: String)
    case noMatchingKey
    case ageHeaderDamaged
    case ageTruncated
    case ageDamaged
    case ageTrailingData
    // tar
    case tarTruncated
    case memberTruncated
    case badHeaderChecksum
    case badNumber(String)
    case negativeNumber
    case numberTooLarge
    case implausibleSize(Int64)
    case paxSizeNotNumber(String)
    case extendedHeaderTooLarge
    case unsafePath(String)
    case duplicateMember(String)
    case hardLink(String)
    case unsupportedType(String)
    case dataAfterEnd
    case belowSymlink(member: String, symlink: String)
    // contents and JSON
    case invalidManifest
    case manifestWithoutHash
    case hashMismatch(actual: String, expected: String)
    case noDump
    case noFolder(String)
    case nothingInside

    /// The one line about the archive at `path`.
    func describe(_ path: String) -> String {
        switch self {
        case .empty: return "\(path) is empty, not a gzip file"
        case .gzipTruncated: return "\(path) is truncated: the gzip stream ends early"
        case .notGzip(let reason): return "\(path) is not valid gzip data (\(reason))"
        case .trailingGzipData: return "\(path) has trailing bytes after its gzip stream"
        case .notAge(let reason): return "\(path) is not an age-encrypted file (\(reason))"
        case .noMatchingKey:
            return "\(path): wrong password or no key matches (give the identity it was encrypted to with --identity, or its passphrase)"
        case .ageHeaderDamaged: return "\(path): its age header is damaged or was altered (MAC mismatch)"
        case .ageTruncated: return "\(path) is truncated: the encrypted data ends early"
        case .ageDamaged: return "\(path): the encrypted data is damaged or was altered (authentication failed)"
        case .ageTrailingData: return "\(path) has bytes after the end of its encrypted data"
        case .tarTruncated: return "\(path) is truncated: the tar data ends without its end-of-archive blocks"
        case .memberTruncated: return "\(path) is truncated: the tar data ends inside a member"
        case .badHeaderChecksum: return "\(path): a tar header is damaged (bad checksum)"
        case .badNumber(let text): return "\(path): a tar header has an invalid number '\(text)'"
        case .negativeNumber: return "\(path): a tar header has a negative number"
        case .numberTooLarge: return "\(path): a tar header has a number too large"
        case .implausibleSize(let size): return "\(path): a tar header claims a size of \(size) bytes: damaged or hostile archive"
        case .paxSizeNotNumber(let text): return "\(path): a pax size '\(text)' is not a number"
        case .extendedHeaderTooLarge: return "\(path): an extended header is implausibly large"
        case .unsafePath(let name): return "\(path): unsafe member path '\(name)' (absolute, '..' or empty component): nothing was written"
        case .duplicateMember(let name): return "\(path): member '\(name)' appears twice: nothing was written"
        case .hardLink(let name): return "\(path): member '\(name)' is a hard link, which Kura does not restore"
        case .unsupportedType(let name): return "\(path): member '\(name)' is a device, FIFO or unknown type, which Kura does not restore"
        case .dataAfterEnd: return "\(path) holds data after its end-of-archive blocks"
        case .belowSymlink(let member, let symlink):
            return "\(path): member '\(member)' lies below the symlink member '\(symlink)': nothing was written"
        case .invalidManifest: return "\(path) is not valid JSON (or its \"tables\" are not counts)"
        case .manifestWithoutHash: return "\(path) has no sha256 \"hash\""
        case .hashMismatch(let actual, let expected):
            return "\(path) does not match its JSON: sha256 \(actual.prefix(12))…, the JSON says \(expected.prefix(12))…"
        case .noDump: return "\(path) holds no database dump"
        case .noFolder(let folder): return "\(path) holds no \(folder)/ folder"
        case .nothingInside: return "\(path) holds neither a database dump nor media/"
        }
    }
}
