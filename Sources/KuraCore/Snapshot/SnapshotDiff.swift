/// One difference between two snapshots, as `kura diff` prints it (restic's letters).
public struct SnapshotChange: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// Only in the second snapshot.
        case added = "+"
        /// Only in the first snapshot.
        case removed = "-"
        /// Content changed.
        case modified = "M"
        /// File, directory or symlink became another kind.
        case typeChanged = "T"
        /// Same content, other metadata (mode, owner, mtime).
        case metadata = "U"
    }

    public var kind: Kind
    public var path: String
    /// Size in the first and second snapshot (0 where absent).
    public var sizeBefore: Int64
    public var sizeAfter: Int64
}

/// Compares two snapshots entry by entry in one forward pass over both (bounded memory).
public enum SnapshotDiff {
    public static func compare(_ first: SnapshotReader, _ second: SnapshotReader, _ body: (SnapshotChange) throws -> Void) throws {
        let left = EntryCursor(first)
        let right = EntryCursor(second)
        while true {
            let a = try left.peek()
            let b = try right.peek()
            switch (a, b) {
            case (nil, nil):
                return
            case (let a?, let b?) where a.path == b.path:
                left.advance()
                right.advance()
                if let kind = change(a, b) {
                    try body(SnapshotChange(kind: kind, path: a.path, sizeBefore: a.size, sizeAfter: b.size))
                }
            case (let a?, let b) where b.map({ a.path.utf8.lexicographicallyPrecedes($0.path.utf8) }) ?? true:
                left.advance()
                try body(SnapshotChange(kind: .removed, path: a.path, sizeBefore: a.size, sizeAfter: 0))
            case (_, let b?):
                right.advance()
                try body(SnapshotChange(kind: .added, path: b.path, sizeBefore: 0, sizeAfter: b.size))
            default:
                return
            }
        }
    }

    private static func change(_ a: Entry, _ b: Entry) -> SnapshotChange.Kind? {
        if a.kind != b.kind { return .typeChanged }
        if a.chunks != b.chunks || a.size != b.size || a.linkTarget != b.linkTarget { return .modified }
        if a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || (a.kind == .file && a.mtimeNanoseconds != b.mtimeNanoseconds) {
            return .metadata
        }
        return nil
    }
}
