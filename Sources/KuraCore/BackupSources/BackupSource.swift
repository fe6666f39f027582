import Foundation

/// Something a backup reads: it reports its items in snapshot path order.
protocol BackupSource {
    /// Whether its files are database dumps (cut with the repository's dump chunker).
    var holdsDumps: Bool { get }
    func walk(_ visit: (SourceItem) throws -> Void) throws
}

extension MediaSource: BackupSource {
    var holdsDumps: Bool { false }
}

/// One file stored under a fixed name at the top of the snapshot tree: a database dump.
struct SingleFileSource: BackupSource {
    let path: String
    let snapshotPath: String
    var holdsDumps: Bool { true }

    func walk(_ visit: (SourceItem) throws -> Void) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw KuraError.posix("cannot read", path) }
        try visit(.file(absolutePath: path, entry: Entry(path: snapshotPath, kind: .file, status: info)))
    }
}
