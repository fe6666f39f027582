import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

@Suite struct FailureTests {
    func backedUp() throws -> (Scratch, Repository, BackupResult, String) {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        try write(randomBytes(2 << 20, seed: 1), to: media + "/a.jpg")
        try write(Array(String(repeating: "b", count: 100_000).utf8), to: media + "/b.txt")
        return (scratch, repository, try backup(repository, media), media)
    }

    @Test func noRepositoryIsExitTen() {
        let scratch = Scratch()
        let error = kuraError { _ = try Repository.open(at: scratch.sub("nothing"), cacheRoot: scratch.sub("cache")) }
        #expect(error == .noRepository(path: scratch.sub("nothing")))
        #expect(error?.exitCode == 10)
    }

    @Test func initRefusesANonEmptyDirectory() throws {
        let scratch = Scratch()
        try write([1], to: scratch.sub("repo/file"))
        #expect(kuraError { _ = try scratch.repository() } == .repositoryNotEmpty(path: scratch.sub("repo")))
    }

    @Test func snapshotReferences() throws {
        let (scratch, repository, result, media) = try backedUp()
        defer { withExtendedLifetime(scratch) {} }
        let second = try backup(repository, media)
        #expect(try repository.resolve("latest") == second.snapshot)
        #expect(try repository.resolve(String(result.snapshot.id.hex.prefix(12))) == result.snapshot)
        #expect(try repository.resolve(result.snapshot.id.hex) == result.snapshot)
        #expect(kuraError { _ = try repository.resolve("deadbeef") } == .unknownSnapshot(reference: "deadbeef"))
        #expect(kuraError { _ = try repository.resolve("not-a-ref") }?.exitCode == 1)
        // Both ids share the empty prefix; find a shared prefix of 4+ digits if there is one.
        let ids = [result.snapshot.id.hex, second.snapshot.id.hex]
        let shared = zip(ids[0], ids[1]).prefix { $0 == $1 }.count
        if shared >= 4 {
            guard case .ambiguousSnapshot = kuraError({ _ = try repository.resolve(String(ids[0].prefix(shared))) }) else {
                Issue.record("expected an ambiguous prefix")
                return
            }
        }
        let candidates = [Snapshot(id: ChunkID(hex: "abcd" + String(repeating: "0", count: 60))!, record: result.snapshot.record),
                          Snapshot(id: ChunkID(hex: "abcd" + String(repeating: "1", count: 60))!, record: result.snapshot.record)]
        guard case .ambiguousSnapshot = kuraError({ _ = try SnapshotReference("abcd").resolve(in: candidates) }) else {
            Issue.record("expected an ambiguous prefix")
            return
        }
        #expect(try repository.resolve(result.snapshot.record.exportName).record.exportName == result.snapshot.record.exportName)
    }

    @Test func flippedByteFailsOnlyTheAffectedFile() throws {
        let (scratch, repository, result, media) = try backedUp()
        let reader = try repository.openSnapshot(result.snapshot)
        let photo = try #require(try reader.entry("media/a.jpg"))
        let location = try #require(try repository.index().locations(photo.chunks).values.first)
        let packPath = repository.layout.pack(location.pack)
        var bytes = try read(packPath)
        bytes[Int(location.entry.offset) + 100] ^= 0xff
        chmod(packPath, 0o644)
        try Data(bytes).write(to: URL(fileURLWithPath: packPath))

        let restored = try restore(repository, result.snapshot, to: scratch.sub("out"))
        #expect(restored.failed.map(\.path) == ["media/a.jpg"])
        #expect(restored.failed.first?.reason.contains("damaged") == true)
        #expect(try read(scratch.sub("out/media/b.txt")) == read(media + "/b.txt"))
        #expect(!FileManager.default.fileExists(atPath: scratch.sub("out/media/a.jpg")))
    }

    @Test func truncatedPackIsAnIntegrityError() throws {
        let (scratch, repository, result, _) = try backedUp()
        let reader = try repository.openSnapshot(result.snapshot)
        let photo = try #require(try reader.entry("media/a.jpg"))
        let location = try #require(try repository.index().locations(photo.chunks).values.first)
        truncate(repository.layout.pack(location.pack), off_t(location.entry.offset) + 10)
        let restored = try restore(repository, result.snapshot, to: scratch.sub("out"))
        #expect(restored.failed.map(\.path).contains("media/a.jpg"))
        #expect(restored.failed.first?.reason.contains("truncated") == true)
    }

    @Test func targetThatIsAFileIsRefused() throws {
        let (scratch, repository, result, _) = try backedUp()
        try write([1], to: scratch.sub("file"))
        let error = kuraError { _ = try restore(repository, result.snapshot, to: scratch.sub("file")) }
        #expect(error?.exitCode == 1)
        #expect(error?.description.contains("not a directory") == true)
    }

    @Test func restoreNeverOverwritesWithoutForce() throws {
        let (scratch, repository, result, media) = try backedUp()
        try write([9, 9], to: scratch.sub("out/media/b.txt"))
        let error = kuraError { _ = try restore(repository, result.snapshot, to: scratch.sub("out")) }
        #expect(error?.exitCode == 13)
        #expect(try read(scratch.sub("out/media/b.txt")) == [9, 9])
        #expect(!FileManager.default.fileExists(atPath: scratch.sub("out/media/a.jpg")))
        try restore(repository, result.snapshot, to: scratch.sub("out"), force: true)
        #expect(try read(scratch.sub("out/media/b.txt")) == read(media + "/b.txt"))
        // An existing but empty target has nothing to replace (known without walking the snapshot);
        // a target holding only a dot-file is not empty, and the snapshot is walked for conflicts.
        try FileManager.default.createDirectory(atPath: scratch.sub("empty"), withIntermediateDirectories: true)
        #expect(try Restorer(repository: repository).conflicts(result.snapshot, RestoreOptions(target: scratch.sub("empty"))).isEmpty)
        try restore(repository, result.snapshot, to: scratch.sub("empty"))
        #expect(try read(scratch.sub("empty/media/b.txt")) == read(media + "/b.txt"))
        #expect(try Restorer(repository: repository).conflicts(result.snapshot, RestoreOptions(target: scratch.sub("empty"))).count > 1)
        try write([1], to: scratch.sub("dotted/.hidden"))
        #expect(!FileSystem.isEmptyDirectory(scratch.sub("dotted")))
        #expect(!FileSystem.isEmptyDirectory(scratch.sub("no such folder")))
    }

    @Test func restoreDoesNotFollowSymlinksOutOfTheTarget() throws {
        let (scratch, repository, result, _) = try backedUp()
        // A symlink planted where the restore will create `media` must not be followed.
        try FileManager.default.createDirectory(atPath: scratch.sub("out"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.sub("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.sub("out/media"), withDestinationPath: scratch.sub("elsewhere"))
        _ = kuraError { _ = try restore(repository, result.snapshot, to: scratch.sub("out"), force: true) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.sub("elsewhere")).isEmpty)
    }

    @Test func lockedRepositoryIsExitEleven() throws {
        let (scratch, repository, _, _) = try backedUp()
        defer { withExtendedLifetime(scratch) {} }
        let held = try repository.lock(exclusive: true)
        let error = kuraError { _ = try repository.lock(exclusive: false) }
        #expect(error?.exitCode == 11)
        held.release()
        let shared = try repository.lock(exclusive: false)
        let second = try repository.lock(exclusive: false)
        second.release()
        shared.release()
    }

    @Test func staleLocalLockIsClearedAutomatically() throws {
        let (scratch, repository, _, _) = try backedUp()
        defer { withExtendedLifetime(scratch) {} }
        // A lock file of this host that nobody holds (its process died).
        let info = LockInfo(host: LockInfo.currentHost, pid: 999_999, user: "ghost", time: Timestamp.now(), exclusive: true)
        try Data(JSONEncoder.kura.encode(info)).write(to: URL(fileURLWithPath: repository.layout.lock("dead")))
        let lock = try repository.lock(exclusive: true)
        #expect(lock.removedStale.count == 1)
        #expect(!FileManager.default.fileExists(atPath: repository.layout.lock("dead")))
        lock.release()
        // Another host's lock is not removed automatically.
        let other = LockInfo(host: "other-host", pid: 1, user: "x", time: Timestamp.now(), exclusive: true)
        try Data(JSONEncoder.kura.encode(other)).write(to: URL(fileURLWithPath: repository.layout.lock("other")))
        #expect(kuraError { _ = try repository.lock(exclusive: false) }?.exitCode == 11)
        #expect(try RepositoryLock.removeLocks(repository.layout, all: false).count == 1)
        try repository.lock(exclusive: false).release()
    }

    @Test func unreadableSourceFilesAreListed() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let media = scratch.sub("media")
        try write([1, 2, 3], to: media + "/ok.txt")
        mkfifo(media + "/pipe", 0o644)
        let result = try backup(repository, media)
        #expect(result.unreadable.map(\.path) == [media + "/pipe"])
        #expect(result.summary.filesNew == 1)
    }

    @Test func missingMediaFolderIsAClearError() throws {
        let scratch = Scratch()
        let repository = try scratch.repository()
        let error = kuraError { try backup(repository, scratch.sub("no-such-media")) }
        #expect(error?.description.contains("does not exist") == true)
    }

    @Test func aCopyWithoutEmptyFoldersStaysWritable() throws {
        // `rclone copy` and git keep no empty folder: a copy loses `tmp/`, `locks/` and most `data/xx`.
        let (scratch, repository, _, media) = try backedUp()
        defer { withExtendedLifetime(scratch) {} }
        #expect(try Program.run("/usr/bin/find", [repository.path, "-mindepth", "1", "-type", "d", "-empty", "-delete"]).status == 0)
        let layout = repository.layout
        #expect(!FileSystem.exists(layout.tmpDirectory) && !FileSystem.exists(layout.locksDirectory))
        let copy = try Repository.open(at: repository.path, cacheRoot: scratch.sub("cache"))
        // One `data/xx` is left (the first pack's); a new pack lands in a missing one 255 times in 256.
        #expect(try FileSystem.list(layout.dataDirectory).count == 1)
        for seed in 2..<6 { try write(randomBytes(3 << 20, seed: UInt64(seed)), to: media + "/new-\(seed).jpg") }
        let second = try backup(copy, media)
        for folder in [layout.tmpDirectory, layout.locksDirectory] + (try FileSystem.list(layout.dataDirectory)).map({ layout.dataDirectory + "/" + $0 }) {
            var info = stat()
            #expect(stat(folder, &info) == 0 && info.st_mode & 0o777 == 0o700, "\(folder)")
        }
        let report = try RepositoryChecker(repository: copy).check(CheckOptions(readData: true))
        #expect(report.errors.isEmpty, "\(report.errors)")
        try restore(copy, second.snapshot, to: scratch.sub("out"))
        #expect(try read(scratch.sub("out/media/new-5.jpg")) == randomBytes(3 << 20, seed: 5))
    }

    @Test func interruptedBackupLeavesAUsableRepository() throws {
        let (scratch, repository, first, media) = try backedUp()
        try write(randomBytes(40 << 20, seed: 77), to: media + "/big.bin")
        let flag = CancellationFlag()
        flag.cancel()
        let error = kuraError { _ = try Archiver(repository: repository).backup(BackupOptions(media: media), cancellation: flag) }
        #expect(error == .interrupted)
        #expect(try FileSystem.list(repository.layout.tmpDirectory).isEmpty)
        #expect(try repository.snapshots().count == 1)
        try restore(repository, first.snapshot, to: scratch.sub("out"))
        #expect(try read(scratch.sub("out/media/b.txt")) == read(media + "/b.txt"))
    }
}
