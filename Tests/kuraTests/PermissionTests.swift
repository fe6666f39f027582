import Foundation
import Testing
import KuraTestSupport

/// Private by default: whatever the umask, what Kura writes that holds backup data (repository,
/// cache, exports, temp files) is owner-only; a group-readable config keeps new files
/// group-readable; verify warns about files open to others and `repair permissions` fixes them.
@Suite struct PermissionTests {
    typealias Sandbox = CLISandbox

    /// Every file and folder below `root` (itself included) whose permission bits are not those
    /// expected: `file` for regular files, `directory` for folders.
    static func wrongModes(_ root: String, file: mode_t = 0o600, directory: mode_t = 0o700) -> [String] {
        var wrong: [String] = []
        func visit(_ path: String) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return }
            let mode = info.st_mode & 0o7777
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if mode != directory { wrong.append("\(String(mode, radix: 8)) \(path)") }
                for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { visit(path + "/" + name) }
            case S_IFREG:
                if mode != file { wrong.append("\(String(mode, radix: 8)) \(path)") }
            default:
                break
            }
        }
        visit(root)
        return wrong
    }

    @Test(arguments: ["022", "000"]) func everythingKuraWritesIsOwnerOnly(umask: String) throws {
        let box = try Sandbox()
        let database = try box.siteDatabase()
        func kura(_ arguments: String...) throws {
            let run = try box.run(arguments, umask: umask)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
        }
        try kura("init")
        try kura("backup", "--media", box.media, "--database", database)
        try Data("more".utf8).write(to: URL(fileURLWithPath: box.media + "/new.txt"))
        try kura("backup", "--media", box.media, "--database", database, "--force")
        try kura("export", "latest", "--output", box.root + "/exports")
        try kura("verify", "--restore-test", "--media-sample", "100%")
        try kura("forget", "--keep-last", "1", "--prune")
        try kura("repair", "index")
        try kura("verify", "--read-data")
        for root in [box.repo, box.root + "/cache", box.root + "/exports"] {
            let wrong = Self.wrongModes(root)
            #expect(wrong.isEmpty, "umask \(umask): \(wrong.prefix(5))")
        }
        // A database restored over a file keeps the snapshot's mode; media keep theirs.
        try kura("restore", "latest", "--target", box.root + "/out")
        var info = stat()
        #expect(lstat(box.root + "/out/media/photo.jpg", &info) == 0)
        var source = stat()
        #expect(lstat(box.media + "/photo.jpg", &source) == 0)
        #expect(info.st_mode & 0o7777 == source.st_mode & 0o7777, "restored files keep their own modes")
    }

    @Test func groupReadableConfigKeepsNewFilesGroupReadable() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        #expect(chmod(box.repo + "/config", 0o640) == 0)
        #expect(try box.run(["backup", "--media", box.media], umask: "077").status == 0)
        var written: [String] = []
        for folder in ["index", "snapshots", "data"] {
            let names = FileManager.default.enumerator(atPath: box.repo + "/" + folder)?.allObjects as? [String] ?? []
            for name in names where !FileManager.default.isDirectory(box.repo + "/" + folder + "/" + name) {
                written.append(box.repo + "/" + folder + "/" + name)
            }
        }
        #expect(written.count >= 3)
        for path in written {
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & 0o7777 == 0o640, "\(path): \(String(info.st_mode & 0o7777, radix: 8))")
        }
        // Repair keeps the group's read access and takes away nothing else the group had.
        #expect(try box.kura("repair", "permissions").status == 0)
        #expect(Self.wrongModes(box.repo, file: 0o640, directory: 0o750).isEmpty)
    }

    @Test func verifyWarnsAboutAnOldWorldReadableRepositoryAndRepairFixesIt() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        // As Kura 1 left it with umask 022.
        #expect(CrashTests.shell("chmod -R u=rwX,go=rX '\(box.repo)' '\(box.root)/cache'") == 0)
        let warned = try box.kura("verify", "--json")
        #expect(warned.status == 0, "a warning, not an error")
        let report = try JSONSerialization.jsonObject(with: Data(warned.stdout.utf8)) as? [String: Any]
        let warnings = report?["warnings"] as? [String] ?? []
        #expect(warnings.count == 1 && warnings[0].contains("kura repair permissions"), "\(warnings)")
        #expect(try box.kura("verify").stderr.contains("can be read by other users"))

        let repaired = try box.kura("repair", "permissions", "--json")
        #expect(repaired.status == 0, "\(repaired.stderr)")
        let changed = (try JSONSerialization.jsonObject(with: Data(repaired.stdout.utf8)) as? [String: Any])?["changed"] as? Int
        #expect((changed ?? 0) > 260, "every folder and file: \(repaired.stdout)")
        #expect(Self.wrongModes(box.repo).isEmpty, "\(Self.wrongModes(box.repo).prefix(3))")
        // The repository's own cache folder (the cache root may be shared, and is left as it is).
        let caches = try FileManager.default.contentsOfDirectory(atPath: box.root + "/cache")
        #expect(caches.count == 1)
        for cache in caches { #expect(Self.wrongModes(box.root + "/cache/" + cache).isEmpty) }
        let clean = try box.kura("verify", "--json")
        #expect((try JSONSerialization.jsonObject(with: Data(clean.stdout.utf8)) as? [String: Any])?["warnings"] as? [String] == [])
    }
}
