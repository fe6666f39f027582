import Foundation

/// `kura prune` settings.
public struct PruneOptions: Sendable {
    /// A pack is repacked when more than this share (0…1) of its stored bytes is unused.
    public var maxUnused: Double
    /// Plan and report only.
    public var dryRun: Bool

    public init(maxUnused: Double = 0.10, dryRun: Bool = false) {
        self.maxUnused = maxUnused
        self.dryRun = dryRun
    }
}

/// Removes data no snapshot references (restic's `prune`). Under the exclusive lock:
/// 1. collects the chunks every snapshot references (refusing when one is unreadable or a
///    referenced chunk is missing: nothing is deleted on a doubt);
/// 2. plans: packs with no used chunk are deleted; packs whose unused share exceeds
///    `maxUnused` are repacked (their used chunks copied, verified, into new packs); packs in
///    no index file (left by killed backups) are deleted;
/// 3. writes in the order that keeps every step crash-safe: new packs durable → new index files
///    (the last supersedes all old ones) → old index files deleted → old packs deleted → `tmp/`
///    emptied.
public final class Pruner {
    private let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public func prune(_ options: PruneOptions, progress: ProgressCounter? = nil,
                      cancellation: CancellationFlag? = nil) throws -> PruneReport {
        let started = Date()
        var report = PruneReport()
        report.dryRun = options.dryRun
        let index = try repository.index()
        if let damaged = index.damagedIndexFiles.first {
            throw KuraError.integrity("index file \(damaged.short) is damaged: run 'kura repair index' before prune (nothing was deleted)")
        }
        let snapshots = try repository.snapshots()
        report.snapshots = snapshots.count
        let usage = try ChunkUsage(index: index)
        for snapshot in snapshots {
            try cancellation?.check()
            try repository.withSnapshotDatabase(snapshot) { path in
                _ = try SnapshotReader(path: path)  // refuses a file that is not a snapshot database
                try usage.add(snapshot, databasePath: path)
            }
        }
        try usage.finish()
        let missing = try usage.missing(limit: 5)
        if !missing.isEmpty {
            throw KuraError.integrity("chunks referenced by snapshots are missing (\(missing.map(\.short).joined(separator: ", "))…): "
                                      + "run 'kura verify' and 'kura repair index'; prune deleted nothing")
        }
        try cancellation?.check()

        // Plan.
        let packs = try usage.packUsage()
        let onDisk = Set(try repository.listPacks())
        var delete: [ChunkID] = [], repack: [PackUsage] = [], keep: [ChunkID] = []
        var keptBytes: Int64 = 0
        for pack in packs {
            report.bytesBefore += pack.storedBytes
            report.unusedBytesBefore += pack.unusedBytes
            if pack.usedEntries == 0 {
                delete.append(pack.pack)
            } else if !onDisk.contains(pack.pack) {
                throw KuraError.integrity("pack \(pack.pack.short) holds used data and is missing: run 'kura verify'; prune deleted nothing")
            } else if pack.unusedShare > options.maxUnused {
                repack.append(pack)
            } else {
                keep.append(pack.pack)
                keptBytes += pack.storedBytes
                report.unusedBytesAfter += pack.unusedBytes
            }
        }
        let indexed = Set(packs.map(\.pack))
        let unreferenced = onDisk.subtracting(indexed).sorted()
        report.packsBefore = onDisk.count
        report.packsDeleted = delete.count + unreferenced.count
        report.packsRepacked = repack.count
        report.unreferencedPacks = unreferenced.count
        for pack in unreferenced { report.bytesBefore += FileSystem.size(repository.layout.pack(pack)) }
        report.bytesAfter = keptBytes + repack.reduce(Int64(0)) { $0 + $1.usedBytes }
        if options.dryRun {
            report.durationSeconds = Date().timeIntervalSince(started)
            return report
        }

        // 1. New packs, durable.
        var newPacks: [FinishedPack] = []
        if !repack.isEmpty {
            newPacks = try copyLiveChunks(of: repack, usage: usage, progress: progress, cancellation: cancellation)
            report.packsWritten = newPacks.count
        }
        // 2. New index files; the last supersedes every present one. 3. Old index files deleted.
        if !delete.isEmpty || !repack.isEmpty {
            let old = try repository.listIndexFiles()
            var rewriter = IndexRewriter(repository: repository, superseding: old)
            for pack in keep { try rewriter.add(pack: pack, entries: try index.entries(inPack: pack)) }
            for pack in newPacks { try rewriter.add(pack: pack.id, entries: pack.entries) }
            try rewriter.finish()
            report.indexFilesWritten = rewriter.filesWritten
            report.indexFilesDeleted = old.count
        }
        // 4. Old packs. Never one the new index names: repacking writes the same bytes as a killed
        //    prune did, so a new pack may have the name of an unreferenced leftover.
        let indexedNow = Set(keep).union(newPacks.map(\.id))
        try deletePacks((delete + repack.map(\.pack) + unreferenced).filter { !indexedNow.contains($0) })
        // 5. Temp files of dead processes (no other process runs: we hold the exclusive lock).
        report.temporaryFilesRemoved = try removeTemporaryFiles()
        try index.synchronize(with: repository)
        report.bytesAfter = keptBytes + newPacks.reduce(Int64(0)) { $0 + Int64($1.size) }
        report.durationSeconds = Date().timeIntervalSince(started)
        return report
    }

    /// Copies the live chunks of `packs` into new packs, each one verified as it is copied (a
    /// damaged chunk stops prune before anything is deleted).
    private func copyLiveChunks(of packs: [PackUsage], usage: ChunkUsage, progress: ProgressCounter?,
                                cancellation: CancellationFlag?) throws -> [FinishedPack] {
        let writer = PackWriter(layout: repository.layout, targetSize: repository.config.packSize)
        let verifier = PackVerifier(repository: repository)
        do {
            for pack in packs {
                try cancellation?.check()
                let bytes = try verifier.load(pack.pack)
                for entry in try usage.liveEntries(inPack: pack.pack) {
                    guard verifier.isIntact(entry, in: bytes) else {
                        throw KuraError.integrity("chunk \(entry.chunk.short) in pack \(pack.pack.short) is damaged: prune stopped "
                                                  + "before deleting anything; run 'kura verify --read-data'")
                    }
                    let start = Int(entry.offset)
                    try writer.add(chunk: entry.chunk, stored: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + Int(entry.storedLength))]),
                                   codec: entry.codec, plainLength: Int(entry.plainLength))
                }
                progress?.add(files: 1, bytes: Int64(bytes.count), current: pack.pack.short)
            }
            return try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }

    private func deletePacks(_ packs: [ChunkID]) throws {
        try FileSystem.delete(packs.map(repository.layout.pack))
    }

    /// Empties `tmp/`, except lock files being created right now.
    private func removeTemporaryFiles() throws -> Int {
        var removed = 0
        for name in try FileSystem.list(repository.layout.tmpDirectory) where !name.hasPrefix("lock-") {
            try FileSystem.delete(repository.layout.tmpDirectory + "/" + name)
            removed += 1
        }
        return removed
    }
}
