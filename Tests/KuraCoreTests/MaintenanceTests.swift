import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// verify, prune and repair index on real repositories (library level).
@Suite struct MaintenanceTests {
    /// A repository with 1 MiB packs and four nights: each night adds two files and deletes one.
    func nights() throws -> (Scratch, Repository, [Snapshot], media: String) {
        let scratch = Scratch()
        let repository = try scratch.repository(config: .new(packSize: 1 << 20))
        let media = scratch.sub("media")
        var snapshots: [Snapshot] = []
        for night in 0..<4 {
            for file in 0..<2 {
                try write(randomBytes(700_000 + 1000 * file, seed: UInt64(night * 10 + file + 1)), to: media + "/n\(night)/f\(file).jpg")
            }
            try write(Array(String(repeating: "receipt \(night) ", count: 20_000).utf8), to: media + "/receipts/r\(night).txt")
            if night > 0 { try FileManager.default.removeItem(atPath: media + "/n\(night - 1)/f0.jpg") }
            let time = String(format: "2026-01-%02dT02:00:00.000000000+01:00", night + 1)
            snapshots.append(try Archiver(repository: repository).backup(
                BackupOptions(media: media, host: "test-host", time: time)).snapshot)
        }
        return (scratch, repository, snapshots, media)
    }

    func listing(_ repository: Repository, _ snapshot: Snapshot, _ target: String) throws -> [String] {
        let result = try restore(repository, snapshot, to: target)
        #expect(result.failed.isEmpty)
        return try treeListing(target + "/media")
    }

    @Test func verifyReadDataPassesOnAHealthyRepository() throws {
        let (scratch, repository, snapshots, _) = try nights()
        defer { withExtendedLifetime(scratch) {} }
        let report = try RepositoryChecker(repository: repository).check(CheckOptions(readData: true))
        #expect(report.ok, "\(report.errors)")
        #expect(report.snapshots == snapshots.count)
        #expect(report.packsRead == report.packs && report.packs > 4)
        #expect(report.bytesRead > 4_000_000 && report.chunksRead >= report.referencedChunks)
    }

    @Test func flippedByteIsNamedDownToFilesAndSnapshots() throws {
        let (scratch, repository, snapshots, _) = try nights()
        defer { withExtendedLifetime(scratch) {} }
        // Damage the chunk of n1/f1.jpg, which is in snapshots 2, 3 and 4.
        let entry = try #require(try repository.openSnapshot(snapshots[1]).entry("media/n1/f1.jpg"))
        let location = try #require(try repository.index().locations(entry.chunks).values.first)
        let path = repository.layout.pack(location.pack)
        var bytes = try read(path)
        bytes[Int(location.entry.offset) + 5000] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let structure = try RepositoryChecker(repository: repository).check(CheckOptions())
        #expect(structure.ok)  // the structure cannot see a flipped data byte
        let report = try RepositoryChecker(repository: repository).check(CheckOptions(readData: true))
        #expect(!report.ok)
        #expect(report.errors.contains { $0.contains("chunk \(location.entry.chunk.short) is damaged") })
        let damaged = report.damagedFiles.filter { $0.path == "media/n1/f1.jpg" }
        #expect(damaged.map(\.snapshots) == [snapshots[1...].map(\.id.short)])
        #expect(!report.damagedFiles.contains { $0.path == "media/n0/f1.jpg" })
    }

    @Test func missingPackAndMissingIndexAreReported() throws {
        let (scratch, repository, snapshots, _) = try nights()
        defer { withExtendedLifetime(scratch) {} }
        let entry = try #require(try repository.openSnapshot(snapshots[0]).entry("media/n0/f0.jpg"))
        let location = try #require(try repository.index().locations(entry.chunks).values.first)
        try FileManager.default.removeItem(atPath: repository.layout.pack(location.pack))
        let report = try RepositoryChecker(repository: repository).check(CheckOptions())
        #expect(report.errors.contains("pack \(location.pack.short) is missing"))
        #expect(report.damagedFiles.contains(DamagedFile(path: "media/n0/f0.jpg", snapshots: [snapshots[0].id.short])))
        let error = kuraError { _ = try Pruner(repository: repository).prune(PruneOptions()) }
        #expect(error?.exitCode == 12, "prune must refuse: \(String(describing: error))")
    }

    @Test func repairIndexRebuildsDeletedAndDamagedIndexFiles() throws {
        let (scratch, repository, snapshots, media) = try nights()
        let indexFiles = try repository.listIndexFiles()
        try FileManager.default.removeItem(atPath: repository.layout.index(indexFiles[0]))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: repository.layout.index(indexFiles[1])))
        let broken = try scratch.reopen()
        let report = try RepositoryChecker(repository: broken).check(CheckOptions())
        #expect(report.errors.contains { $0.contains("index file \(indexFiles[1].short) is damaged") })
        #expect(report.errors.contains { $0.contains("not in the index") })
        #expect(report.notices.contains { $0.contains("in no index file") })

        let repair = try broken.repairIndex()
        #expect(repair.packsIndexed == (try broken.listPacks().count) && repair.packsSkipped.isEmpty)
        let repaired = try scratch.reopen()
        let after = try RepositoryChecker(repository: repaired).check(CheckOptions(readData: true))
        #expect(after.ok && after.notices.isEmpty, "\(after.errors) \(after.notices)")
        #expect(try repaired.listIndexFiles().count == 1)
        #expect(try listing(repaired, snapshots[3], scratch.sub("out")) == treeListing(media))
    }

    @Test func forgetAndPruneFreeSpaceAndKeepTheRest() throws {
        let (scratch, repository, snapshots, media) = try nights()
        let before = try repository.stats().packBytes
        try repository.forget(Array(snapshots[0..<2]))
        // A pack left by a killed backup and a temp file are cleaned too.
        let stray = repository.layout.dataDirectory + "/00/" + String(repeating: "0", count: 64)
        try write(randomBytes(1000, seed: 9), to: stray)
        try write([1, 2, 3], to: repository.layout.tmpDirectory + "/pack-leftover")

        let dryRun = try Pruner(repository: repository).prune(PruneOptions(dryRun: true))
        #expect(dryRun.packsDeleted > 0 && FileManager.default.fileExists(atPath: stray))
        let report = try Pruner(repository: repository).prune(PruneOptions(maxUnused: 0))
        #expect(report.unreferencedPacks == 1 && !FileManager.default.fileExists(atPath: stray))
        #expect(report.temporaryFilesRemoved == 1)
        #expect(report.unusedBytesAfter == 0)
        let after = try repository.stats().packBytes
        #expect(after < before - 1_350_000, "only the files of the forgotten nights go: \(before) → \(after)")

        let check = try RepositoryChecker(repository: try scratch.reopen()).check(CheckOptions(readData: true))
        #expect(check.ok && check.snapshots == 2, "\(check.errors)")
        #expect(try listing(scratch.reopen(), snapshots[3], scratch.sub("out")) == treeListing(media))
        // Pruning again finds nothing to do.
        let again = try Pruner(repository: repository).prune(PruneOptions(maxUnused: 0))
        #expect(again.packsDeleted == 0 && again.packsRepacked == 0 && again.indexFilesWritten == 0)
    }

    /// Prune replaces only the index files that list a pack it deletes or repacks; the others
    /// stay, byte for byte, and a cache loaded before follows without a rebuild. Once ten small
    /// index files have gathered, they are merged (DESIGN.md, invariant 45).
    @Test func pruneRewritesOnlyTheIndexFilesItChangesAndCompactsSmallOnes() throws {
        let scratch = Scratch()
        let repository = try scratch.repository(config: .new(packSize: 1 << 20))
        // Each night backs up a folder of its own: its packs and its index file are its own.
        func night(_ number: Int) throws -> Snapshot {
            let media = scratch.sub("media-\(number)")
            try write(randomBytes(300_000, seed: UInt64(500 + number)), to: media + "/photo-\(number).jpg")
            let time = String(format: "2026-02-%02dT02:00:00.000000000+01:00", number + 1)
            return try Archiver(repository: repository).backup(BackupOptions(media: media, host: "test-host", time: time)).snapshot
        }
        let first = try (0..<4).map(night)
        let filesBefore = Set(try repository.listIndexFiles())
        #expect(filesBefore.count == 4)
        let other = try Repository.open(at: scratch.sub("repo"), cacheRoot: scratch.sub("cache-2"))
        let otherIndex = try other.index()
        let goneChunks = try repository.openSnapshot(first[1]).entry("media/photo-1.jpg")?.chunks ?? []
        #expect(try !goneChunks.isEmpty && otherIndex.contained(goneChunks).count == goneChunks.count)

        try repository.forget([first[1]])
        let report = try Pruner(repository: repository).prune(PruneOptions(maxUnused: 0))
        #expect(report.packsDeleted >= 1)
        #expect((report.indexFilesDeleted, report.indexFilesKept, report.indexFilesCompacted) == (1, 3, 0))
        let filesAfter = Set(try repository.listIndexFiles())
        #expect(filesBefore.subtracting(filesAfter).count == 1, "only night 1's index file is replaced")
        #expect(filesAfter.subtracting(filesBefore).count == report.indexFilesWritten)
        #expect(report.indexBytesWritten > 0 && report.indexBytesWritten < 1000, "\(report.indexBytesWritten) bytes for a file listing nothing")
        // The cache loaded before the prune drops night 1's packs and keeps the rest.
        try otherIndex.synchronize(with: other)
        #expect(try otherIndex.contained(goneChunks).isEmpty)
        let freshIndex = try Repository.open(at: scratch.sub("repo"), cacheRoot: scratch.sub("cache-3")).index()
        #expect(try otherIndex.totals() == freshIndex.totals())
        #expect(try otherIndex.packs() == freshIndex.packs())
        #expect(try RepositoryChecker(repository: try scratch.reopen()).check(CheckOptions(readData: true)).ok)

        // Nine more nights: 3 + 9 = 12 small index files. Forgetting one night now merges them all.
        let later = try (4..<13).map(night)
        try repository.forget([later[0]])
        let merged = try Pruner(repository: repository).prune(PruneOptions(maxUnused: 0))
        #expect(merged.indexFilesCompacted == 11 && merged.indexFilesKept == 0, "\(merged)")
        let remaining = try repository.listIndexFiles()
        #expect(remaining.count == 1)
        let reopened = try scratch.reopen()
        #expect(try RepositoryChecker(repository: reopened).check(CheckOptions(readData: true)).ok)
        try otherIndex.synchronize(with: other)
        #expect(try otherIndex.totals() == reopened.index().totals())
        for snapshot in [first[0], first[3], later[8]] {
            let result = try restore(reopened, snapshot, to: scratch.sub("out-\(snapshot.id.short)"))
            #expect(result.failed.isEmpty && result.files == 1)
        }
        // Nothing left to merge or delete: the next prune writes no index file.
        #expect(try Pruner(repository: repository).prune(PruneOptions(maxUnused: 0)).indexFilesWritten == 0)
    }

    /// `--dry-run` prints the plan that would run, and executing that very plan does exactly it.
    @Test func thePlanIsWhatExecutes() throws {
        let (scratch, repository, snapshots, media) = try nights()
        try repository.forget(Array(snapshots[0..<2]))
        let pruner = Pruner(repository: repository)
        let plan = try pruner.plan(PruneOptions(maxUnused: 0.2))
        #expect(!plan.delete.isEmpty || !plan.repack.isEmpty, "forgetting two nights leaves data to remove")
        let dryRun = try pruner.prune(PruneOptions(maxUnused: 0.2, dryRun: true))
        #expect((dryRun.packsDeleted, dryRun.packsRepacked, dryRun.bytesAfter) == (plan.report.packsDeleted, plan.report.packsRepacked, plan.report.bytesAfter))
        let packsBefore = Set(try repository.listPacks())
        let report = try pruner.execute(plan)
        let packsAfter = Set(try repository.listPacks())
        // Exactly the planned packs are gone; the kept ones stay; the new ones hold the repacked data.
        #expect(packsBefore.subtracting(packsAfter) == Set(plan.delete + plan.repack.map(\.pack) + plan.unreferenced))
        #expect(Set(plan.keep).isSubset(of: packsAfter))
        #expect(packsAfter.subtracting(packsBefore).count == report.packsWritten)
        #expect(report.bytesAfter < plan.report.bytesBefore)
        #expect(try listing(scratch.reopen(), snapshots[3], scratch.sub("out")) == treeListing(media))
        // Nothing is left to plan.
        let next = try pruner.plan(PruneOptions(maxUnused: 0.2))
        #expect(next.delete.isEmpty && next.repack.isEmpty && next.unreferenced.isEmpty)
    }

    /// A process whose cache was loaded before a prune sees the new index afterwards (the old
    /// index files are superseded and gone).
    @Test func anotherCacheFollowsAPrune() throws {
        let (scratch, repository, snapshots, _) = try nights()
        _ = try repository.index()
        let other = try Repository.open(at: scratch.sub("repo"), cacheRoot: scratch.sub("cache-2"))
        try other.forget([snapshots[0]])
        _ = try Pruner(repository: other).prune(PruneOptions(maxUnused: 0))
        let first = try scratch.reopen()
        let result = try restore(first, snapshots[3], to: scratch.sub("out"))
        #expect(result.failed.isEmpty && result.files == 9)
    }

    /// A copy of the repository from before a prune (same id, so the same local cache) still reads
    /// its own, older index: a superseding index file counts only where it is present.
    @Test func anOlderCopyWithTheSameCacheKeepsItsIndex() throws {
        let (scratch, repository, snapshots, _) = try nights()
        let copy = scratch.sub("copy")
        #expect(try Subprocess.run("/bin/cp", ["-a", scratch.sub("repo"), copy]).status == 0)
        try repository.forget([snapshots[0]])
        _ = try Pruner(repository: repository).prune(PruneOptions(maxUnused: 0))
        let old = try Repository.open(at: copy, cacheRoot: scratch.sub("cache"))
        let result = try restore(old, snapshots[0], to: scratch.sub("out"))
        #expect(result.failed.isEmpty && result.files == 3)
        #expect(try RepositoryChecker(repository: old).check(CheckOptions(readData: true)).ok)
        #expect(try RepositoryChecker(repository: try scratch.reopen()).check(CheckOptions(readData: true)).ok)
    }

    @Test func exclusiveLockExcludesBackupsAndWaits() throws {
        let (scratch, repository, _, _) = try nights()
        let backupLock = try repository.lock(exclusive: false)
        #expect(kuraError { _ = try repository.lock(exclusive: true) }?.exitCode == 11)
        let second = try repository.lock(exclusive: false)  // backups may run side by side
        second.release()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { backupLock.release() }
        let started = Date()
        let prune = try scratch.reopen().lock(exclusive: true, wait: 10)
        #expect(Date().timeIntervalSince(started) >= 0.4)
        #expect(kuraError { _ = try repository.lock(exclusive: false, wait: 0.3) }?.exitCode == 11)
        prune.release()
    }

    /// A record dated years ahead (a compromised host's lie in an append-only repository): verify
    /// warns about it by id, and `forget --keep-last 1` still keeps the real newest night.
    @Test func aSnapshotDatedInTheFutureIsNamedAndCountsForNoRule() throws {
        let (scratch, repository, snapshots, media) = try nights()
        defer { withExtendedLifetime(scratch) {} }
        let forged = try Archiver(repository: repository).backup(
            BackupOptions(media: media, host: "test-host", time: "2031-01-01T02:00:00.000000000+01:00")).snapshot
        let report = try RepositoryChecker(repository: repository).check(CheckOptions())
        #expect(report.ok)
        #expect(report.warnings.contains { $0.contains(forged.id.short) && $0.contains("in the future") }, "\(report.warnings)")
        let kept = try repository.forgetPlan(ForgetPolicy(last: 1)).flatMap(\.kept).map(\.snapshot.id)
        #expect(Set(kept) == [forged.id, try #require(snapshots.last).id])
    }
}
