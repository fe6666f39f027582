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
///    (the last supersedes the old ones they replace: only those listing a deleted or repacked
///    pack, and small ones when a merge is worth it — `IndexRewritePlan`) → those old index files
///    deleted → old packs deleted → `tmp/` emptied.
public final class Pruner {
    private let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    /// Plans, then (unless `options.dryRun`) executes that very plan.
    public func prune(_ options: PruneOptions, progress: ProgressCounter? = nil,
                      cancellation: CancellationFlag? = nil) throws -> PruneReport {
        let plan = try self.plan(options, cancellation: cancellation)
        return options.dryRun ? plan.report : try execute(plan, progress: progress, cancellation: cancellation)
    }

    /// Steps 1 and 2: what prune would delete, repack and keep. Reads only.
    public func plan(_ options: PruneOptions, cancellation: CancellationFlag? = nil) throws -> PrunePlan {
        let started = Date()
        let index = try repository.index()
        if let damaged = index.damagedIndexFiles.first { throw KuraError.pruneStopped(.indexFileDamaged(id: damaged.short)) }
        let (usage, snapshots) = try referencedChunks(cancellation: cancellation)
        let onDisk = Set(try repository.listPacks())
        var plan = PrunePlan(usage: usage)
        plan.report.dryRun = options.dryRun
        plan.report.snapshots = snapshots
        for pack in try usage.packUsage() {
            plan.report.bytesBefore += pack.storedBytes
            plan.report.unusedBytesBefore += pack.unusedBytes
            if pack.usedEntries == 0 {
                plan.delete.append(pack.pack)
            } else if !onDisk.contains(pack.pack) {
                throw KuraError.pruneStopped(.packMissing(pack: pack.pack.short))
            } else if pack.unusedShare > options.maxUnused {
                plan.repack.append(pack)
            } else {
                plan.keep.append(pack.pack)
                plan.keptBytes += pack.storedBytes
                plan.report.unusedBytesAfter += pack.unusedBytes
            }
        }
        plan.unreferenced = onDisk.subtracting(plan.delete + plan.repack.map(\.pack) + plan.keep).sorted()
        plan.report.packsBefore = onDisk.count
        plan.report.packsDeleted = plan.delete.count + plan.unreferenced.count
        plan.report.packsRepacked = plan.repack.count
        plan.report.unreferencedPacks = plan.unreferenced.count
        for pack in plan.unreferenced { plan.report.bytesBefore += try repository.store.size(of: RepositoryLayout.packName(pack)) ?? 0 }
        plan.report.bytesAfter = plan.keptBytes + plan.repack.reduce(Int64(0)) { $0 + $1.usedBytes }
        plan.indexRewrite = IndexRewritePlan(contents: try index.indexFileContents(), present: try repository.listIndexFiles(),
                                             changed: Set(plan.delete + plan.repack.map(\.pack)))
        plan.report.indexFilesCompacted = plan.indexRewrite.compacted
        plan.report.indexFilesKept = plan.indexRewrite.untouched
        plan.report.durationSeconds = Date().timeIntervalSince(started)
        return plan
    }

    /// Step 3: carries `plan` out in the crash-safe order. The repository must not have changed
    /// since the plan (the exclusive lock, held from planning to the end, sees to it).
    public func execute(_ plan: PrunePlan, progress: ProgressCounter? = nil, cancellation: CancellationFlag? = nil) throws -> PruneReport {
        let started = Date()
        var report = plan.report
        report.dryRun = false
        // 1. New packs, durable.
        let newPacks = plan.repack.isEmpty ? []
            : try copyLiveChunks(of: plan.repack, usage: plan.usage, progress: progress, cancellation: cancellation)
        report.packsWritten = newPacks.count
        // 2. New index files; the last supersedes the ones they replace. 3. Those deleted.
        if !plan.indexRewrite.isEmpty {
            let index = try repository.index()
            var rewriter = IndexRewriter(repository: repository, superseding: plan.indexRewrite.superseded)
            for pack in plan.indexRewrite.keptPacks { try rewriter.add(pack: pack, entries: try index.entries(inPack: pack)) }
            for pack in newPacks { try rewriter.add(pack: pack.id, entries: pack.entries) }
            try rewriter.finish()
            report.indexFilesWritten = rewriter.filesWritten
            report.indexFilesDeleted = plan.indexRewrite.superseded.count
            report.indexBytesWritten = Int64(rewriter.bytesWritten)
        }
        // 4. Old packs. Never one the new index names: repacking writes the same bytes as a killed
        //    prune did, so a new pack may have the name of an unreferenced leftover.
        let indexedNow = Set(plan.keep).union(newPacks.map(\.id))
        try deletePacks((plan.delete + plan.repack.map(\.pack) + plan.unreferenced).filter { !indexedNow.contains($0) })
        // 5. Temp files of dead processes (no other process runs: we hold the exclusive lock).
        report.temporaryFilesRemoved = try repository.removeLeftovers()
        try repository.index().synchronize(with: repository)
        report.bytesAfter = plan.keptBytes + newPacks.reduce(Int64(0)) { $0 + Int64($1.size) }
        report.durationSeconds = plan.report.durationSeconds + Date().timeIntervalSince(started)
        return report
    }

    /// Step 1: every chunk the snapshots reference; refuses when one is missing from the index.
    private func referencedChunks(cancellation: CancellationFlag?) throws -> (ChunkUsage, snapshots: Int) {
        let usage = try ChunkUsage(index: try repository.index())
        let snapshots = try repository.snapshots()
        for snapshot in snapshots {
            try cancellation?.check()
            try repository.withSnapshotDatabase(snapshot) { path in
                _ = try SnapshotReader(path: path)  // refuses a file that is not a snapshot database
                try usage.add(snapshot, databasePath: path)
            }
        }
        try usage.finish()
        let missing = try usage.missing(limit: 5)
        if !missing.isEmpty { throw KuraError.pruneStopped(.chunksNotIndexed(chunks: missing.map(\.short))) }
        try cancellation?.check()
        return (usage, snapshots.count)
    }

    /// Copies the live chunks of `packs` into new packs, each one verified as it is copied (a
    /// damaged chunk stops prune before anything is deleted).
    private func copyLiveChunks(of packs: [PackUsage], usage: ChunkUsage, progress: ProgressCounter?,
                                cancellation: CancellationFlag?) throws -> [FinishedPack] {
        let writer = repository.makeChunkStore()
        let verifier = PackVerifier(repository: repository)
        do {
            for pack in packs {
                try cancellation?.check()
                let bytes = try verifier.load(pack.pack)
                for entry in try usage.liveEntries(inPack: pack.pack) {
                    guard verifier.isIntact(entry, in: bytes) else {
                        throw KuraError.pruneStopped(.chunkDamaged(chunk: entry.chunk.short, pack: pack.pack.short))
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
        try repository.store.delete(packs.map(RepositoryLayout.packName))
    }
}
