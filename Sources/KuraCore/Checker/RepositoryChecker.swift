import Dispatch
import Foundation

/// What `kura verify` checks beyond the structure.
public struct CheckOptions: Sendable {
    /// Read every pack (or `subset` of them) and check every chunk's SHA-256.
    public var readData: Bool
    public var subset: ReadDataSubset?

    public init(readData: Bool = false, subset: ReadDataSubset? = nil) {
        self.readData = readData || subset != nil
        self.subset = subset
    }
}

/// Verifies a repository (restic's `check`): config, index files, snapshot records and their
/// databases, that every referenced chunk is indexed, that every indexed pack exists with a
/// trailer that agrees, and with `readData` every chunk's content. Damage is named down to the
/// files and snapshots it costs. Reads only; the caller holds a shared lock.
public final class RepositoryChecker {
    private let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public func check(_ options: CheckOptions, progress: ProgressCounter? = nil,
                      cancellation: CancellationFlag? = nil) throws -> CheckReport {
        let started = Date()
        var report = CheckReport()
        let index = try repository.index()
        let indexFiles = try repository.listIndexFiles()
        report.indexFiles = indexFiles.count
        let loadedDamaged = Set(index.damagedIndexFiles)
        let damaged = loadedDamaged.union(indexFiles.filter { !loadedDamaged.contains($0) && !repository.indexFileIsIntact($0) })
        for id in damaged.sorted() {
            report.errors.append("index file \(id.short) is damaged: run 'kura repair index'")
        }
        let usage = try ChunkUsage(index: index)
        let snapshots = checkSnapshots(&report, usage: usage)
        try usage.finish()
        try cancellation?.check()
        report.referencedChunks = try usage.referencedCount()
        var bad = Set(try usage.missing())
        if !bad.isEmpty {
            report.errors.append("\(bad.count) chunk(s) referenced by snapshots are not in the index: run 'kura repair index'; "
                                 + "if they stay missing, the files below cannot be restored")
        }

        let indexPacks = try index.packs()
        report.packs = indexPacks.count
        var present: [ChunkID] = []
        for pack in indexPacks {
            let expected = try index.entries(inPack: pack)
            do {
                let trailer = Set(try repository.readPackTrailer(pack).entries)
                let unknown = expected.filter { !trailer.contains($0) }
                if !unknown.isEmpty {
                    report.errors.append("pack \(pack.short): \(unknown.count) index entries are not in its trailer")
                    bad.formUnion(unknown.map(\.chunk))
                }
                present.append(pack)
            } catch let error as KuraError {
                report.errors.append(Self.message(error))
                bad.formUnion(try usage.liveEntries(inPack: pack).map(\.chunk))
            }
        }
        let known = Set(indexPacks)
        for pack in try repository.listPacks() where !known.contains(pack) {
            report.notices.append("pack \(pack.short) is in no index file: left by an interrupted backup ('kura prune' deletes it), "
                                  + "or its index file was lost ('kura repair index' indexes it again)")
        }
        try cancellation?.check()

        if options.readData {
            let selected = options.subset.map { subset in present.filter(subset.contains) } ?? present
            report.readDataSubset = options.subset?.description
            let reading = Date()
            bad.formUnion(try readData(selected, index: index, report: &report, progress: progress, cancellation: cancellation))
            report.readDataSeconds = Date().timeIntervalSince(reading)
        }

        let located = DamageLocator.locate(bad, in: snapshots, repository: repository)
        report.damagedFiles = located.files
        for snapshot in located.snapshotsWithDamagedTree {
            report.errors.append("snapshot \(snapshot.id.short) (\(snapshot.record.time.prefix(19))): chunks of its file list are "
                                 + "damaged or missing; it cannot be restored or exported")
        }
        report.snapshots = snapshots.count
        for name in try repository.damagedVerifications() {
            report.errors.append("verification record \(name.prefix(8)) is damaged or was altered: 'kura verify --restore-test' writes a new one; delete verifications/\(name)")
        }
        for name in try repository.damagedRuns() {
            report.errors.append("run record \(name.prefix(8)) is damaged or was altered: 'kura status' skips it; delete runs/\(name)")
        }
        if repository.isEncrypted {
            for key in try repository.keys() where key.damage != nil {
                report.errors.append("key file \(key.id.prefix(8)) is damaged (\(key.damage ?? "")): its password no longer opens the repository; "
                                     + "'kura key remove \(key.id.prefix(8))', then 'kura key add' that password again")
            }
        }
        report.warnings += try permissionWarnings()
        for snapshot in snapshots where ForgetPolicy.isInTheFuture(snapshot) {
            report.warnings.append("snapshot \(snapshot.id.short) is dated \(snapshot.record.time.prefix(19)), in the future: retention "
                                   + "counts it by no rule; if no host of yours made it, it is forged: 'kura forget \(snapshot.id.short)'")
        }
        report.durationSeconds = Date().timeIntervalSince(started)
        return report
    }

    /// A warning when repository files or folders are open to other users (made before Kura was
    /// private by default, or changed by hand).
    private func permissionWarnings() throws -> [String] {
        let open = try repository.pathsOpenToOtherUsers()
        guard let first = open.first else { return [] }
        return ["\(open.count) repository file(s) or folder(s) can be read by other users (\(first)\(open.count > 1 ? ", …" : "")): "
                + "run 'kura repair permissions' to make them owner-only"]
    }

    /// Reads every snapshot record and database (integrity_check) and adds the readable ones'
    /// chunks to `usage`; returns the readable snapshots, oldest first.
    private func checkSnapshots(_ report: inout CheckReport, usage: ChunkUsage) -> [Snapshot] {
        var readable: [Snapshot] = []
        let names = (try? repository.store.list("snapshots")) ?? []
        for name in names {
            guard let id = ChunkID(hex: name) else {
                report.notices.append("snapshots/\(name) is not a snapshot record (ignored)")
                continue
            }
            do {
                let snapshot = try repository.readSnapshot(id, useCache: false)
                let problems = try repository.withSnapshotDatabase(snapshot) { path -> [String] in
                    let problems = try SnapshotReader(path: path).integrityProblems()
                    if problems.isEmpty { try usage.add(snapshot, databasePath: path) }
                    return problems
                }
                if problems.isEmpty {
                    readable.append(snapshot)
                } else {
                    report.errors.append("snapshot \(id.short): its database fails integrity_check: \(problems.prefix(3).joined(separator: "; "))")
                }
            } catch {
                report.errors.append("snapshot \(id.short): \(Self.message(error))")
            }
        }
        return readable.sorted { ($0.record.epochSeconds, $0.id) < ($1.record.epochSeconds, $1.id) }
    }

    /// Reads `packs` on all cores; returns the chunks found damaged and adds findings to `report`.
    private func readData(_ packs: [ChunkID], index: IndexCache, report: inout CheckReport,
                          progress: ProgressCounter?, cancellation: CancellationFlag?) throws -> Set<ChunkID> {
        let lock = NSLock()
        var next = 0
        var results: [PackVerifier.Result] = []
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, packs.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let verifier = PackVerifier(repository: repository)
            while cancellation?.isCancelled != true {
                lock.lock()
                let position = next
                next += 1
                lock.unlock()
                guard position < packs.count else { break }
                // Each pack's entries are fetched when it is read: memory holds two packs' worth.
                let result: PackVerifier.Result
                do {
                    result = verifier.verify(packs[position], expected: try index.entries(inPack: packs[position]))
                } catch {
                    var failed = PackVerifier.Result()
                    failed.problems.append("pack \(packs[position].short): its index entries cannot be read: \(error)")
                    result = failed
                }
                progress?.add(files: 1, bytes: result.bytesRead, current: packs[position].short)
                lock.lock()
                results.append(result)
                lock.unlock()
            }
        }
        try cancellation?.check()
        var damaged = Set<ChunkID>()
        for result in results {
            report.packsRead += 1
            report.bytesRead += result.bytesRead
            report.chunksRead += result.chunksChecked
            report.errors += result.problems
            damaged.formUnion(result.damagedChunks)
        }
        return damaged
    }

    /// A KuraError's text without the "integrity failure: " prefix (the report says it).
    static func message(_ error: Error) -> String {
        if case KuraError.integrity(let failure) = error { return failure.description }
        return String(describing: error)
    }
}
