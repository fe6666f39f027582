import Foundation

/// Consecutive files of a restore page whose chunks one ranged read fetches together.
///
/// A backup writes a folder's small files one after the other into a pack, so a restore in path
/// order finds them side by side: a batch reads their stored bytes at once (`ChunkReader.Span`
/// rules: one pack, in order, small gaps, 8 MiB at most) and then writes each file from memory.
/// On object storage that is one request per few MiB instead of one per file, and the server's
/// work per request is what a restore waits for. A file too big for one span, or whose chunks
/// are not all indexed, is a batch of its own and reads as before.
struct ReadBatch {
    /// Positions in the page.
    var entries: Range<Int>
    /// The chunks to fetch first, in pack order; empty for a batch of one file.
    var span: [ChunkLocation]

    /// Cuts `entries` (a restore page, in path order) into batches, in order.
    static func plan(_ entries: [Entry], locations: [ChunkID: ChunkLocation]) -> [ReadBatch] {
        var batches: [ReadBatch] = []
        var start = 0
        while start < entries.count {
            var span = ChunkReader.Span()
            var chunks: [ChunkLocation] = []
            var end = start
            files: while end < entries.count {
                var grown = span
                var added: [ChunkLocation] = []
                for chunk in entries[end].chunks {
                    guard let location = locations[chunk], grown.append(location) else { break files }
                    added.append(location)
                }
                span = grown
                chunks += added
                end += 1
            }
            if end - start <= 1 {
                batches.append(ReadBatch(entries: start..<(start + 1), span: []))
                start += 1
            } else {
                batches.append(ReadBatch(entries: start..<end, span: chunks))
                start = end
            }
        }
        return batches
    }
}
