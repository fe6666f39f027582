import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Encrypted repositories against fixed answers: a small repository committed in
/// Tests/KnownAnswer/encrypted-v2 (made once by `kura init` + `kura backup`, see its README) must
/// keep opening, so a change that breaks the format of existing repositories fails here; and an
/// independent reader written from docs/FORMAT.md (tools/lib/kura_decrypt.py, Python) must read
/// what Kura writes today.
@Suite struct KnownAnswerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
    static let fixture = root + "/KnownAnswer/encrypted-v2"
    static let password = "kura known-answer password"
    /// SHA-256 of the two files backed up (`sha256sum` at the time).
    static let expected = [
        "media/hello.txt": "46ab2b52ebc0c146ddec68762a0cfbb90711bf3ee55834143ca28c8efe0df82f",
        "media/receipts/reçu 2026.pdf": "62a7e800c1f94250d952c1ae58833ee5f278d9da67766a79de83ab90e7864135",
    ]

    /// A plain repository of the same two files, its pack of version 1 (named by the SHA-256 of
    /// the whole file): made once, on 2026-12-01, by the Kura of stop 20 (see its README).
    static let plainFixture = root + "/KnownAnswer/plain-v1"
    static let plainSnapshot = "0d03b1bba1ea774069f7251a52c706d70c2e407dbe713dd97af71b9a16504208"

    /// A fixture, copied (git keeps neither empty folders nor modes) and made owner-only.
    func copyOfTheFixture(_ scratch: Scratch, _ fixture: String = Self.fixture) throws -> String {
        let copy = scratch.sub("repo")
        try FileManager.default.copyItem(atPath: fixture, toPath: copy)
        #expect(try Program.run("/bin/chmod", ["-R", "go-rwx", copy]).status == 0)
        return copy
    }

    @Test func theCommittedEncryptedRepositoryStillOpens() throws {
        let scratch = Scratch()
        let path = try copyOfTheFixture(scratch)
        let repository = try Repository.open(at: path, credentials: .password { Array(Self.password.utf8) }, cacheRoot: scratch.sub("cache"))
        #expect(repository.isEncrypted && repository.config.version == 2)
        let snapshots = try repository.snapshots()
        #expect(snapshots.map(\.id.hex) == ["cbc9f63bfaf5fda4a7342ba583817474f2cacde93c89e4d7dfeb6cab72e4278d"])
        let snapshot = try #require(snapshots.first)
        #expect(snapshot.record.host == "known-answer" && snapshot.record.time.hasPrefix("2026-11-30T12:00:00"))
        try restore(repository, snapshot, to: scratch.sub("out"))
        for (file, digest) in Self.expected {
            #expect(try SHA256Hasher.hash(file: scratch.sub("out/" + file)).hex == digest, "\(file)")
        }
        let report = try RepositoryChecker(repository: repository).check(CheckOptions(readData: true))
        #expect(report.errors.isEmpty && report.chunksRead == 3, "\(report.errors)")
        #expect(kuraError { _ = try Repository.open(at: path, credentials: .password { Array("not it".utf8) }, cacheRoot: scratch.sub("cache")) }?
            .exitCode == 12)
    }

    @Test func theCommittedPlainRepositoryStillOpensVerifiesAndGrows() throws {
        let scratch = Scratch()
        let path = try copyOfTheFixture(scratch, Self.plainFixture)
        // Git keeps no empty folder (`tmp/`, `locks/`, most of `data/xx`): Kura makes them again.
        let repository = try Repository.open(at: path, cacheRoot: scratch.sub("cache"))
        #expect(!repository.isEncrypted)
        let snapshot = try #require(try repository.snapshots().first)
        #expect(snapshot.id.hex == Self.plainSnapshot)
        try restore(repository, snapshot, to: scratch.sub("out"))
        for (file, digest) in Self.expected {
            #expect(try SHA256Hasher.hash(file: scratch.sub("out/" + file)).hex == digest, "\(file)")
        }
        let oldPack = try #require(try repository.listPacks().first)
        #expect(try read(repository.layout.pack(oldPack))[8] == PackFormat.wholeFileVersion)

        // A backup adds a pack of today's version beside it; verify reads both kinds.
        try FileManager.default.copyItem(atPath: scratch.sub("out/media"), toPath: scratch.sub("media"))
        try write(randomBytes(300_000, seed: 9), to: scratch.sub("media/new.jpg"))
        _ = try backup(repository, scratch.sub("media"))
        let newPacks = try repository.listPacks().filter { $0 != oldPack }
        let versions = try newPacks.map { try read(repository.layout.pack($0))[8] }
        #expect(!versions.isEmpty && versions.allSatisfy { $0 == PackFormat.listedVersion })
        let report = try RepositoryChecker(repository: repository).check(CheckOptions(readData: true))
        #expect(report.errors.isEmpty && report.packsRead == 1 + newPacks.count, "\(report.errors)")

        // A byte no chunk and no trailer covers (the header's reserved bytes) is still caught in
        // the old pack by its whole-file name.
        var bytes = try read(repository.layout.pack(oldPack))
        bytes[12] ^= 1
        try write(bytes, to: repository.layout.pack(oldPack))
        let damaged = try RepositoryChecker(repository: repository).check(CheckOptions(readData: true))
        #expect(damaged.errors.contains { $0.contains("pack \(oldPack.short): its content does not match its name") }, "\(damaged.errors)")
    }

    /// Runs the Python reader on `repository` with `password`: its lines, or its error.
    func independentReader(_ repository: String, password: String, scratch: Scratch) throws -> Program.Result {
        try write(Array((password + "\n").utf8), to: scratch.sub("password"))
        return try Program.run("/usr/bin/python3", [Self.root + "/../tools/lib/kura_decrypt.py", repository, "--password-file", scratch.sub("password")])
    }

    @Test func anIndependentReaderOpensTheCommittedRepository() throws {
        let scratch = Scratch()
        let result = try independentReader(try copyOfTheFixture(scratch), password: Self.password, scratch: scratch)
        #expect(result.status == 0, "\(result.stderr) (needs python3-cryptography and zstd: tools/test installs them)")
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines == Self.expected.sorted { $0.key < $1.key }.map { "\($0.value)  cbc9f63b  \($0.key)" })
    }

    @Test func anIndependentReaderOpensWhatKuraWritesToday() throws {
        let scratch = Scratch()
        let media = scratch.sub("media")
        // Compressible (zstd), incompressible (raw), small and larger than a chunk.
        try write(Array(String(repeating: "paiement reçu, élève 12\n", count: 100_000).utf8), to: media + "/notes.txt")
        try write(randomBytes(3 << 20, seed: 5), to: media + "/photo.jpg")
        try write([], to: media + "/empty.txt")
        let repository = try Repository.initialize(at: scratch.sub("repo"), password: Repository.NewPassword(Array("today".utf8), kdf: ScryptParameters(logN: 10)),
                                                   cacheRoot: scratch.sub("cache"))
        let snapshot = try backup(repository, media).snapshot
        let result = try independentReader(scratch.sub("repo"), password: "today", scratch: scratch)
        #expect(result.status == 0, "\(result.stderr)")
        var expected: [String] = []
        for name in ["empty.txt", "notes.txt", "photo.jpg"] {
            expected.append("\(try SHA256Hasher.hash(file: media + "/" + name).hex)  \(snapshot.id.hex.prefix(8))  media/\(name)")
        }
        #expect(String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init) == expected)
        // It can fail: the wrong password.
        #expect(try independentReader(scratch.sub("repo"), password: "yesterday", scratch: scratch).status == 1)
    }
}
