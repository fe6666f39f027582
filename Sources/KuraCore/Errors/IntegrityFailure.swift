/// What is damaged or missing, when data does not agree with what it should be (exit 12). Each
/// case names the object concerned; `description` says what to do next where there is something.
public enum IntegrityFailure: Equatable, Sendable, CustomStringConvertible {
    /// A pack the index points to is not in `data/`.
    case packMissing(pack: String)
    /// A pack's bytes do not have the shape of a pack.
    case packDamaged(pack: String, PackDamage)
    /// A chunk read from a pack does not hash to its id (or does not decompress to its length).
    case chunkDamaged(chunk: String, pack: String)
    /// A chunk a file needs is in no index file.
    case chunkNotIndexed(chunk: String, path: String)
    /// Chunks that snapshots reference are in no index file (a few shown).
    case chunksNotIndexed(chunks: [String])
    /// A file's chunks add up to another size than recorded.
    case sizeMismatch(path: String, actual: Int64, expected: Int64)
    /// An index file cannot be read.
    case indexFileDamaged(id: String)
    /// A snapshot record cannot be read or does not hash to its name.
    case snapshotRecordDamaged(id: String, reason: String)
    /// A snapshot database (or its record's tree) cannot be read.
    case snapshotDatabaseDamaged(name: String, reason: String)
    /// A snapshot lacks the dump its record names.
    case missingDump(source: String, path: String)
    /// A restored database's tables hold other row counts than at backup.
    case rowCounts(database: String, [TableMismatch])
    /// A copied or restored SQLite database fails `integrity_check`.
    case databaseCheck(label: String, findings: [String])
    /// A documented archive (or its JSON) is damaged, hostile or incomplete.
    case archive(path: String, ArchiveDamage)
    /// A file ends before a length read from it says.
    case fileTruncated(path: String, wanted: Int, offset: Int64)
    /// A file is larger than such a file can be.
    case fileTooLarge(path: String, size: Int64, limit: Int)

    public var description: String {
        switch self {
        case .packMissing(let pack):
            return "pack \(pack) is missing"
        case .packDamaged(let pack, let damage):
            return "pack \(pack) \(damage)"
        case .chunkDamaged(let chunk, let pack):
            return "chunk \(chunk) in pack \(pack) is damaged"
        case .chunkNotIndexed(let chunk, let path):
            return "chunk \(chunk) of \(path) is missing from the index"
        case .chunksNotIndexed(let chunks):
            return "chunks referenced by snapshots are missing (\(chunks.joined(separator: ", "))…): run 'kura verify' and 'kura repair index'"
        case .sizeMismatch(let path, let actual, let expected):
            return "\(path): chunks hold \(actual) bytes, the snapshot says \(expected)"
        case .indexFileDamaged(let id):
            return "index file \(id) is damaged: run 'kura repair index'"
        case .snapshotRecordDamaged(let id, let reason):
            return "snapshot record \(id) \(reason)"
        case .snapshotDatabaseDamaged(let name, let reason):
            return "snapshot database \(name): \(reason)"
        case .missingDump(let source, let path):
            return "\(source) lacks its dump \(path)"
        case .rowCounts(let database, let mismatches):
            let list = mismatches.map { "\($0.table): \($0.actual.map(String.init) ?? "missing") rows, \($0.expected) at backup" }
            return "restored database \(database) differs from the backup: \(list.joined(separator: "; "))"
        case .databaseCheck(let label, let findings):
            return "SQLite database \(label) fails integrity_check: \(findings.prefix(3).joined(separator: "; "))"
        case .archive(let path, let damage):
            return damage.describe(path)
        case .fileTruncated(let path, let wanted, let offset):
            return "\(path) is truncated (wanted \(wanted) bytes at offset \(offset))"
        case .fileTooLarge(let path, let size, let limit):
            return "\(path) is \(size) bytes, more than such a file can be (\(limit)): damaged or not Kura's"
        }
    }
}

/// How a pack's bytes are wrong.
public enum PackDamage: Equatable, Sendable, CustomStringConvertible {
    /// Shorter than a header and footer.
    case truncated(size: UInt64)
    /// The footer's magic or length is wrong.
    case noFooter
    /// The trailer does not hash to what the footer says, or does not parse.
    case damagedTrailer
    /// Larger than any pack of the repository can be.
    case tooLarge(size: Int64)
    /// A chunk the index places in the pack lies beyond its end.
    case chunkBeyondEnd(chunk: String)

    public var description: String {
        switch self {
        case .truncated(let size): return "is truncated (\(size) bytes)"
        case .noFooter: return "has no valid footer (truncated or damaged)"
        case .damagedTrailer: return "has a damaged trailer"
        case .tooLarge(let size): return "is \(size) bytes, more than any pack of this repository can be: damaged or not a pack"
        case .chunkBeyondEnd(let chunk): return "is truncated: chunk \(chunk) is missing"
        }
    }
}
