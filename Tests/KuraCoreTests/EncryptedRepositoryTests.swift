import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Encrypted repositories (docs/FORMAT.md, "Encryption"): round trips, keys, tampering with each
/// kind of object, nonces, plaintext on disk, copies between keys.
@Suite struct EncryptedRepositoryTests {
    static let password = Array("correct horse battery staple".utf8)
    /// Cheap scrypt for tests (the product's floor for new keys is 2^14).
    static func newPassword(_ text: String = "correct horse battery staple") -> Repository.NewPassword {
        Repository.NewPassword(Array(text.utf8), kdf: ScryptParameters(logN: 10))
    }

    static func credentials(_ text: String = "correct horse battery staple") -> Repository.Credentials {
        .password { Array(text.utf8) }
    }

    func encryptedRepository(_ scratch: Scratch, name: String = "repo") throws -> Repository {
        try Repository.initialize(at: scratch.sub(name), password: Self.newPassword(), cacheRoot: scratch.sub("cache"))
    }

    func reopen(_ scratch: Scratch, name: String = "repo", password: String = "correct horse battery staple",
                cache: String = "cache") throws -> Repository {
        try Repository.open(at: scratch.sub(name), credentials: Self.credentials(password), cacheRoot: scratch.sub(cache))
    }

    /// Media with a marker in a compressible text file, in an incompressible one and in a file name.
    func markedMedia(_ scratch: Scratch) throws -> String {
        let media = scratch.sub("media")
        try write(Array(String(repeating: "KURA-PLAINTEXT-MARKER receipt line\n", count: 20_000).utf8), to: media + "/receipts/reçu.txt")
        try write(randomBytes(2 << 20, seed: 7) + Array("KURA-PLAINTEXT-MARKER".utf8) + randomBytes(1 << 20, seed: 8),
                  to: media + "/photos/photo.jpg")
        try write(Array("x".utf8), to: media + "/KURA-NAME-MARKER.pdf")
        return media
    }

    @Test func roundTripsOnAnEncryptedRepository() throws {
        let scratch = Scratch()
        let repository = try encryptedRepository(scratch)
        #expect(repository.isEncrypted && repository.config.version == 2 && repository.config.encryption == "aes-256-gcm")
        let media = try markedMedia(scratch)
        let first = try backup(repository, media)
        try write(Array("changed".utf8), to: media + "/receipts/new.txt")
        let second = try backup(try reopen(scratch), media)
        #expect(second.summary.filesNew == 1 && second.summary.filesUnchanged == 3)

        // Everything, then one file, from a fresh process's view.
        let reopened = try reopen(scratch)
        try restore(reopened, second.snapshot, to: scratch.sub("out"))
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))
        try restore(reopened, first.snapshot, to: scratch.sub("one"), include: ["media/photos/photo.jpg"])
        #expect(try read(scratch.sub("one/media/photos/photo.jpg")) == read(media + "/photos/photo.jpg"))

        // Export: the documented archive, readable by tar.
        let exported = try ArchiveExporter(repository: reopened).export(second.snapshot, to: .directory(scratch.sub("export")))
        let listing = try Program.run("/bin/tar", ["-tzf", exported.archivePath ?? ""])
        #expect(listing.status == 0 && String(decoding: listing.stdout, as: UTF8.self).contains("media/receipts/reçu.txt"))

        // Restore test, forget + prune, then every byte read back.
        let record = try RestoreTester(repository: reopened).test(second.snapshot, RestoreTestOptions(mediaSample: 1))
        #expect(record.ok)
        try reopened.writeVerification(record)
        #expect(try reopen(scratch).latestVerifications()[second.snapshot.id.hex]?.ok == true)
        try reopened.forget([first.snapshot])
        _ = try Pruner(repository: reopened).prune(PruneOptions(maxUnused: 0))
        let report = try RepositoryChecker(repository: try reopen(scratch)).check(CheckOptions(readData: true))
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.chunksRead > 0)
    }

    @Test func theWrongPasswordOrNoneIsRefused() throws {
        let scratch = Scratch()
        _ = try encryptedRepository(scratch)
        let wrong = kuraError { _ = try reopen(scratch, password: "Tr0ub4dor&3") }
        #expect(wrong?.exitCode == 12)
        #expect(wrong.map { "\($0)" }?.contains("wrong password or no key matches") == true)
        let none = kuraError { _ = try Repository.open(at: scratch.sub("repo"), cacheRoot: scratch.sub("cache")) }
        #expect(none?.exitCode == 2, "\(String(describing: none))")
        // Its key files gone: exit 12, saying how to get back in.
        try FileManager.default.removeItem(atPath: scratch.sub("repo/keys"))
        let noKeys = kuraError { _ = try reopen(scratch) }
        #expect(noKeys == .noKeyFiles(location: scratch.sub("repo"), damaged: 0) && noKeys?.exitCode == 12)
        #expect(noKeys.map { "\($0)" }?.contains("--from-paper") == true)
    }

    @Test func keysCanBeAddedChangedAndRemovedAndEachOpensTheRepository() throws {
        let scratch = Scratch()
        let repository = try encryptedRepository(scratch)
        let snapshot = try backup(repository, try markedMedia(scratch)).snapshot
        let second = try repository.addKey(Self.newPassword("second"))
        let third = try repository.addKey(Self.newPassword("third"))
        #expect(try repository.keys().count == 3)
        for password in ["correct horse battery staple", "second", "third"] {
            #expect(try reopen(scratch, password: password).snapshots().map(\.id) == [snapshot.id])
        }
        // The key that opened it last is tried first next time (one scrypt for the right password).
        let hintPath = scratch.sub("cache/\(repository.config.id)/key-hint")
        #expect(try String(decoding: read(hintPath), as: UTF8.self) == third)
        // The same key again: the hint is left as it is (no rewrite, no fsyncs), not replaced.
        var before = stat(), after = stat()
        #expect(stat(hintPath, &before) == 0)
        _ = try reopen(scratch, password: "third")
        #expect(stat(hintPath, &after) == 0 && after.st_ino == before.st_ino)
        let wrong = kuraError { _ = try reopen(scratch, password: "none of them") }
        #expect(wrong == .wrongPassword(tried: 3, damaged: 0))

        // passwd replaces the key in use; the old password no longer opens it.
        let opened = try reopen(scratch, password: "second")
        let replaced = try opened.changePassword(Self.newPassword("fourth"))
        #expect(try !repository.keys().contains { $0.id == second } && repository.keys().contains { $0.id == replaced })
        #expect(kuraError { _ = try reopen(scratch, password: "second") }?.exitCode == 12)

        // The key in use and the last key cannot be removed.
        let byThird = try reopen(scratch, password: "third")
        #expect(kuraError { try byThird.removeKey(String(third.prefix(8))) }?.exitCode == 1)
        try byThird.removeKey(String(replaced.prefix(8)))
        let first = try #require(try byThird.keys().first { $0.id != third }?.id)
        try byThird.removeKey(String(first.prefix(8)))
        #expect(try byThird.keys().map(\.id) == [third])
        let byPaper = try Repository.open(at: scratch.sub("repo"), credentials: .masterKey(try MasterKey(paperText: try byThird.paperKey())),
                                          cacheRoot: scratch.sub("cache"))
        let last = kuraError { try byPaper.removeKey(String(third.prefix(8))) }
        #expect(last.map { "\($0)" }?.contains("last key") == true)
    }

    @Test func thePaperKeyOpensTheRepositoryWhenEveryPasswordIsLost() throws {
        let scratch = Scratch()
        let repository = try encryptedRepository(scratch)
        let snapshot = try backup(repository, try markedMedia(scratch)).snapshot
        let paper = "Kura master key of repository …\n\n" + (try repository.paperKey()) + "\n"
        #expect(paper.contains("KURA-MASTER-KEY-1"))
        let key = try MasterKey(paperText: paper)
        let recovered = try Repository.open(at: scratch.sub("repo"), credentials: .masterKey(key), cacheRoot: scratch.sub("cache"))
        try recovered.addKey(Self.newPassword("new after loss"))
        #expect(try reopen(scratch, password: "new after loss").snapshots().map(\.id) == [snapshot.id])

        // A mistyped character fails the checksum; another repository's key is refused.
        var typo = Array(try repository.paperKey())
        typo[30] = typo[30] == "Q" ? "P" : "Q"
        #expect(kuraError { _ = try MasterKey(paperText: String(typo)) }?.exitCode == 1)
        let other = try Repository.initialize(at: scratch.sub("other"), password: Self.newPassword(), cacheRoot: scratch.sub("cache"))
        let foreign = try MasterKey(paperText: try other.paperKey())
        #expect(kuraError { _ = try Repository.open(at: scratch.sub("repo"), credentials: .masterKey(foreign), cacheRoot: scratch.sub("cache")) } != nil)
    }

    @Test func aRepositoryCopiedToAnotherFolderOpensWithThePasswordAlone() throws {
        let scratch = Scratch()
        let repository = try encryptedRepository(scratch)
        let media = try markedMedia(scratch)
        let snapshot = try backup(repository, media).snapshot
        #expect(try Program.run("/bin/cp", ["-a", scratch.sub("repo"), scratch.sub("moved")]).status == 0)
        let moved = try reopen(scratch, name: "moved", cache: "other-cache")
        try restore(moved, snapshot, to: scratch.sub("out"))
        #expect(try treeListing(media) == treeListing(scratch.sub("out/media")))
    }

    @Test func nothingOnDiskHoldsPlaintext() throws {
        let scratch = Scratch()
        let media = try markedMedia(scratch)
        for encrypted in [false, true] {
            let name = encrypted ? "encrypted" : "plain"
            let repository = try Repository.initialize(at: scratch.sub(name), password: encrypted ? Self.newPassword() : nil,
                                                       cacheRoot: scratch.sub("cache"))
            try backup(repository, media)
            // grep exits 0 when a file matches, 1 when none does.
            let content = try Program.run("/bin/grep", ["-rl", "KURA-PLAINTEXT-MARKER", scratch.sub(name)])
            let names = try Program.run("/bin/grep", ["-rl", "KURA-NAME-MARKER", scratch.sub(name)])
            if encrypted {
                #expect(content.status == 1 && names.status == 1,
                        "plaintext found in \(String(decoding: content.stdout + names.stdout, as: UTF8.self))")
            } else {
                // The same search finds the marker of the raw (incompressible) file in a plain
                // repository: the test can fail. (Names are compressed in its snapshot database.)
                #expect(content.status == 0)
            }
        }
    }

    @Test func noTwoBlobsShareANonceInARepositoryOf100000Chunks() throws {
        let scratch = Scratch()
        let repository = try encryptedRepository(scratch)
        let saver = try ChunkSaver(repository: repository, compression: .default)
        let buffer = randomBytes(104_000 * 600, seed: 42)
        let parameters = ChunkerParameters(min: 256, avg: 512, max: 1024, normalization: 2)
        let ids = try buffer.withUnsafeBytes { try saver.save(buffer: $0, chunker: FastCDC(parameters)) }
        try saver.finish()
        #expect(Set(ids).count >= 100_000, "\(Set(ids).count) chunks")

        var nonces: [[UInt8]] = []
        for pack in try repository.listPacks() {
            let bytes = try read(repository.layout.pack(pack))
            let (entries, size) = try repository.readPackTrailer(pack)
            for entry in entries { nonces.append(Array(bytes[Int(entry.offset)..<(Int(entry.offset) + 12)])) }
            // The sealed trailer's own nonce: it begins where the last blob ends.
            let trailerStart = Int(size) - PackFormat.sealedFooterSize - Int(bytes[(Int(size) - 16)..<(Int(size) - 12)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            nonces.append(Array(bytes[trailerStart..<(trailerStart + 12)]))
        }
        for file in try repository.listIndexFiles() { nonces.append(Array(try read(repository.layout.index(file)).prefix(12))) }
        #expect(nonces.count > 100_000)
        #expect(Set(nonces).count == nonces.count, "\(nonces.count - Set(nonces).count) repeated nonces")
    }

    /// Flips one byte of `path` and renames the file to the SHA-256 of its new bytes, so that
    /// only the encryption's authentication can tell (the name check would catch a plain flip).
    /// Without `rename` the byte is changed in place (a reader's open descriptor sees it).
    func tamper(_ path: String, at offset: Int, rename: Bool = true) throws -> String {
        var bytes = try read(path)
        bytes[offset] ^= 0x40
        guard rename else {
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [bytes[offset]])
            try handle.close()
            return path
        }
        let newPath = (path as NSString).deletingLastPathComponent + "/" + SHA256Hasher.hash(bytes).hex
        try FileManager.default.removeItem(atPath: path)
        try write(bytes, to: newPath)
        return newPath
    }

    func onlyFile(in folder: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0 != ".keep" }
        #expect(names.count == 1, "\(folder): \(names)")
        return folder + "/" + (names.first ?? "")
    }

    @Test func aFlippedByteInEachKindOfObjectIsDetectedAndNamed() throws {
        let scratch = Scratch()
        let repository = try encryptedRepository(scratch)
        let media = try markedMedia(scratch)
        let snapshot = try backup(repository, media).snapshot
        try repository.writeVerification(try RestoreTester(repository: repository).test(snapshot, RestoreTestOptions()))
        let root = scratch.sub("repo")
        try FileManager.default.copyItem(atPath: root, toPath: scratch.sub("pristine"))
        func fresh() throws -> Repository {
            try FileManager.default.removeItem(atPath: root)
            try FileManager.default.copyItem(atPath: scratch.sub("pristine"), toPath: root)
            try? FileManager.default.removeItem(atPath: scratch.sub("cache"))
            return try reopen(scratch)
        }

        // A chunk blob in a pack (the pack keeps its name: verify names the chunk and the pack).
        var opened = try fresh()
        let pack = try #require(try opened.listPacks().first)
        let entry = try #require(try opened.readPackTrailer(pack).entries.first { $0.storedLength > 1000 })
        _ = try tamper(opened.layout.pack(pack), at: Int(entry.offset) + 100, rename: false)
        let chunkReport = try RepositoryChecker(repository: opened).check(CheckOptions(readData: true))
        #expect(chunkReport.errors.contains { $0.contains("chunk \(entry.chunk.short) is damaged") }, "\(chunkReport.errors)")
        let damaged = try restore(opened, snapshot, to: scratch.sub("out1"))
        #expect(damaged.failed.count == 1, "the file holding the chunk is not restored, and said so")

        // The pack header (covered by no tag: compared).
        opened = try fresh()
        _ = try tamper(opened.layout.pack(pack), at: 9, rename: false)
        let headerReport = try RepositoryChecker(repository: opened).check(CheckOptions(readData: true))
        #expect(headerReport.errors.contains { $0.contains("pack \(pack.short): its header is damaged") }, "\(headerReport.errors)")

        // The pack trailer.
        opened = try fresh()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: opened.layout.pack(pack))[.size] as? Int)
        _ = try tamper(opened.layout.pack(pack), at: size - PackFormat.sealedFooterSize - 20, rename: false)
        #expect(kuraError { _ = try opened.readPackTrailer(pack) } == .integrity(.packDamaged(pack: pack.short, .damagedTrailer)))

        // An index file.
        opened = try fresh()
        _ = try tamper(try onlyFile(in: root + "/index"), at: 40)
        let indexReport = try RepositoryChecker(repository: try fresh2(scratch)).check(CheckOptions())
        #expect(indexReport.errors.contains { $0.contains("index file") && $0.contains("damaged") }, "\(indexReport.errors)")

        // A snapshot record.
        opened = try fresh()
        let record = try tamper(try onlyFile(in: root + "/snapshots"), at: 30)
        let recordID = try #require(ChunkID(hex: (record as NSString).lastPathComponent))
        let recordError = kuraError { _ = try reopen(scratch).readSnapshot(recordID) }
        #expect(recordError.map { "\($0)" }?.contains("snapshot record \(recordID.short) does not decrypt") == true, "\(String(describing: recordError))")

        // The snapshot database: its chunks' blobs, in the last pack written.
        opened = try fresh()
        let treeChunk = try #require(ChunkID(hex: snapshot.record.tree.chunks[0]))
        let location = try #require(try opened.index().locations([treeChunk])[treeChunk])
        _ = try tamper(opened.layout.pack(location.pack), at: Int(location.entry.offset) + 20, rename: false)
        let treeError = kuraError { _ = try opened.openSnapshot(snapshot) }
        #expect(treeError == .integrity(.chunkDamaged(chunk: treeChunk.short, pack: location.pack.short)), "\(String(describing: treeError))")

        // A verification record.
        opened = try fresh()
        _ = try tamper(try onlyFile(in: root + "/verifications"), at: 30)
        let verifyReport = try RepositoryChecker(repository: try fresh2(scratch)).check(CheckOptions())
        #expect(verifyReport.errors.contains { $0.contains("verification record") }, "\(verifyReport.errors)")

        // The key file: the only key no longer opens; the error says a key file is damaged.
        _ = try fresh()
        _ = try tamper(try onlyFile(in: root + "/keys"), at: 60)
        let keyError = kuraError { _ = try reopen(scratch) }
        #expect(keyError?.exitCode == 12 && "\(keyError.map { "\($0)" } ?? "")".contains("key file"), "\(String(describing: keyError))")

        // The config's key check.
        _ = try fresh()
        let config = String(decoding: try read(root + "/config"), as: UTF8.self)
        let check = try #require(repository.config.keyCheck)
        let altered = (check.first == "a" ? "b" : "a") + check.dropFirst()
        try write(Array(config.replacingOccurrences(of: check, with: altered).utf8), to: root + "/config")
        #expect(kuraError { _ = try reopen(scratch) } == .wrongPassword(tried: 1, damaged: 0))
    }

    /// Opens the repository again without its cache (so that index files are read anew).
    func fresh2(_ scratch: Scratch) throws -> Repository {
        try? FileManager.default.removeItem(atPath: scratch.sub("cache"))
        return try reopen(scratch)
    }

    @Test func aPlainConfigPutBesideKeysIsRefused() throws {
        let scratch = Scratch()
        _ = try encryptedRepository(scratch)
        let plain = try JSONEncoder.kura.encode(RepositoryConfig.new())
        try write([UInt8](plain), to: scratch.sub("repo/config"))
        let error = kuraError { _ = try Repository.open(at: scratch.sub("repo"), cacheRoot: scratch.sub("cache")) }
        #expect(error.map { "\($0)" }?.contains("holds key files but its config says it is not encrypted") == true, "\(String(describing: error))")
    }

    @Test func aLaterVersionIsRefusedWithUpgradeKura() throws {
        var config = RepositoryConfig.new()
        config.version = 3
        let error = kuraError { try config.validate() }
        #expect(error.map { "\($0)" }?.contains("upgrade kura") == true)
        // Version 2 without its encryption fields is not a repository either.
        config.version = 2
        #expect(kuraError { try config.validate() } != nil)
    }

    @Test func hostileKeyFilesAreRefusedBeforeAnythingIsAllocated() throws {
        let base = try KeyFile.wrap(MasterKey.generate(), password: Self.password, kdf: ScryptParameters(logN: 10), repositoryID: "r")
        for (logN, r, p) in [(40, 8, 1), (21, 8, 1), (20, 16, 1), (14, 8, 1_000_000), (14, 0, 1)] {
            var file = base
            (file.kdf.logN, file.kdf.r, file.kdf.p) = (logN, r, p)
            #expect(kuraError { _ = try KeyFile.decode(try file.encoded()) }?.exitCode == 1, "log_n \(logN) r \(r) p \(p)")
        }
        // Truncated JSON, a short wrapped key, and a key file of another repository.
        let bytes = try base.encoded()
        #expect(throws: (any Error).self) { _ = try KeyFile.decode(Array(bytes.prefix(bytes.count / 2))) }
        var short = base
        short.wrappedKey = "AAAA"
        #expect(throws: (any Error).self) { _ = try short.unwrap(password: Self.password, repositoryID: "r") }
        #expect(try base.unwrap(password: Self.password, repositoryID: "another") == nil)
        #expect(try base.unwrap(password: Self.password, repositoryID: "r") != nil)
    }

    @Test func copiesBetweenPlainAndEncryptedRepositoriesRestoreTheSameFiles() throws {
        let scratch = Scratch()
        let media = try markedMedia(scratch)
        let source = try encryptedRepository(scratch, name: "source")
        let snapshot = try backup(source, media).snapshot
        let plain = try Repository.initialize(at: scratch.sub("plain"), cacheRoot: scratch.sub("cache"))
        let other = try Repository.initialize(at: scratch.sub("other"), password: Self.newPassword("other"), cacheRoot: scratch.sub("cache"))
        for (from, to, name) in [(source, plain, "plain"), (source, other, "other"), (plain, other, "other")] {
            let report = try SnapshotCopier(from: from, to: to).copy()
            if from === plain {
                #expect(report.alreadyThere == 1 && report.copied.isEmpty, "the same record is already there")
                continue
            }
            #expect(report.copied == [snapshot.id.hex] && report.destinationIDs.count == 1)
            let copied = try #require(try to.snapshots().first)
            #expect(copied.id.hex == report.destinationIDs[0])
            try restore(to, copied, to: scratch.sub("out-" + name))
            #expect(try treeListing(media) == treeListing(scratch.sub("out-\(name)/media")))
            #expect(try SnapshotCopier(from: from, to: to).copy().alreadyThere == 1)
        }
        #expect(try RepositoryChecker(repository: other).check(CheckOptions(readData: true)).errors.isEmpty)
    }
}
