import Foundation

/// What `kura repair index` did.
public struct IndexRepairReport: Sendable, Encodable {
    public var packsIndexed = 0
    public var chunksIndexed = 0
    /// Packs whose trailer is unreadable: their chunks could not be indexed.
    public var packsSkipped: [String] = []
    public var indexFilesWritten = 0
    public var indexFilesReplaced = 0

    enum CodingKeys: String, CodingKey {
        case packsIndexed = "packs_indexed", chunksIndexed = "chunks_indexed", packsSkipped = "packs_skipped"
        case indexFilesWritten = "index_files_written", indexFilesReplaced = "index_files_replaced"
    }
}

extension Repository {
    /// Rebuilds the index from the packs' trailers alone (invariant 7), for when index files were
    /// deleted or damaged. The caller holds the exclusive lock. New index files are written first,
    /// the last superseding every present one, then the old ones are deleted.
    public func repairIndex(progress: ProgressCounter? = nil) throws -> IndexRepairReport {
        var report = IndexRepairReport()
        let old = try listIndexFiles()
        var rewriter = IndexRewriter(repository: self, superseding: old)
        for pack in try listPacks() {
            do {
                let (entries, size) = try readPackTrailer(pack)
                try rewriter.add(pack: pack, entries: entries)
                report.packsIndexed += 1
                report.chunksIndexed += entries.count
                progress?.add(files: 1, bytes: Int64(size), current: pack.short)
            } catch KuraError.integrity(let failure) {
                report.packsSkipped.append("\(failure)")
            }
        }
        try rewriter.finish()
        report.indexFilesWritten = rewriter.filesWritten
        report.indexFilesReplaced = old.count
        try index().synchronize(with: self)
        return report
    }
}
