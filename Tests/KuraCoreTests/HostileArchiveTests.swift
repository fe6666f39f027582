import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Broken and hostile archives: each gives one clear error with its documented code, and nothing
/// is written to the target or anywhere else.
@Suite struct HostileArchiveTests {
    /// Builds `<name>.tar.gz` with Python's tarfile from a recipe, plus a JSON with the right
    /// hash, in `directory`; returns the archive path.
    func make(_ name: String, in directory: String, recipe: String) throws -> String {
        let path = directory + "/" + name + ".tar.gz"
        let script = """
            import hashlib, io, json, sys, tarfile
            path = sys.argv[1]
            def info(name, type=tarfile.REGTYPE, size=0, linkname=""):
                i = tarfile.TarInfo(name); i.type = type; i.size = size; i.linkname = linkname; i.mode = 0o644; return i
            with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as t:
                def add(name, data=b"x", type=tarfile.REGTYPE, linkname=""):
                    t.addfile(info(name, type, len(data) if type == tarfile.REGTYPE else 0, linkname), io.BytesIO(data) if type == tarfile.REGTYPE else None)
                add("media/ok.txt", b"fine")
            \(recipe.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            json.dump({"hash": hashlib.sha256(open(path, "rb").read()).hexdigest()}, open(path[:-7] + ".json", "w"))
            """
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", script, path])
        #expect(result.status == 0, "\(result.stderr)")
        return path
    }

    /// Restoring `archive` fails with exit `code` — with exactly `damage` when given — and writes nothing.
    func expectRefused(_ archive: String, _ scratch: Scratch, code: Int32 = 12, damage: ArchiveDamage? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let target = scratch.sub("target-" + FileSystem.name(of: archive))
        let error = kuraError { _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(target: target)) }
        #expect(error?.exitCode == code, "\(String(describing: error))", sourceLocation: sourceLocation)
        if let damage { #expect(error == .integrity(.archive(path: archive, damage)), sourceLocation: sourceLocation) }
        #expect(!FileManager.default.fileExists(atPath: target), "target was created", sourceLocation: sourceLocation)
        #expect(!ArchiveVerifier.verify(archive).isEmpty, "verify found nothing", sourceLocation: sourceLocation)
    }

    @Test func hostileMembersAreRefusedBeforeAnythingIsWritten() throws {
        let scratch = Scratch()
        let dir = scratch.path
        let outside = scratch.sub("outside")
        for (name, recipe, damage) in [
            ("dotdot", "t.addfile(info('../x', size=1), io.BytesIO(b'x'))", ArchiveDamage.unsafePath("../x")),
            ("absolute", "t.addfile(info('/etc/kura-test-x', size=1), io.BytesIO(b'x'))", .unsafePath("/etc/kura-test-x")),
            ("nested-dotdot", "t.addfile(info('media/../../x', size=1), io.BytesIO(b'x'))", .unsafePath("media/../../x")),
            ("symlink-then-file", "t.addfile(info('media/link', tarfile.SYMTYPE, linkname='\(outside)'))\nt.addfile(info('media/link/evil', size=1), io.BytesIO(b'x'))",
             .belowSymlink(member: "media/link/evil", symlink: "media/link")),
            ("hardlink", "t.addfile(info('media/hard', tarfile.LNKTYPE, linkname='/etc/passwd'))", .hardLink("media/hard")),
            ("device", "t.addfile(info('media/dev', tarfile.CHRTYPE))", .unsupportedType("media/dev")),
            ("duplicate", "t.addfile(info('media/ok.txt', size=1), io.BytesIO(b'y'))", .duplicateMember("media/ok.txt")),
        ] {
            expectRefused(try make(name, in: dir, recipe: recipe), scratch, damage: damage)
        }
        #expect(!FileManager.default.fileExists(atPath: outside))
        #expect(!FileManager.default.fileExists(atPath: "/etc/kura-test-x"))
        #expect(!FileManager.default.fileExists(atPath: scratch.sub("x")))
    }

    /// Builds `<name>.tar.gz` from raw tar headers (Python's tarfile refuses to write these):
    /// `fields` are (offset, bytes) patched into the header of `media/big`, checksum recomputed.
    func makeRaw(_ name: String, in directory: String, headerPatch: String, body: String = "b''") throws -> String {
        let path = directory + "/" + name + ".tar.gz"
        let script = """
            import gzip, hashlib, json, sys, tarfile
            path = sys.argv[1]
            info = tarfile.TarInfo("media/big"); info.size = 0
            h = bytearray(info.tobuf(tarfile.GNU_FORMAT))
            \(headerPatch)
            h[148:156] = b" " * 8
            h[148:156] = b"%06o\\0 " % sum(h)
            data = bytes(h) + \(body)
            data += b"\\0" * (-len(data) % 512) + b"\\0" * 1024
            open(path, "wb").write(gzip.compress(data))
            json.dump({"hash": hashlib.sha256(open(path, "rb").read()).hexdigest()}, open(path[:-7] + ".json", "w"))
            """
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", script, path])
        #expect(result.status == 0, "\(result.stderr)")
        return path
    }

    @Test func implausibleSizesAndRecordsAreRefused() throws {
        let scratch = Scratch()
        let dir = scratch.path
        for (name, patch, body) in [
            // GNU base-256 sizes: 2^63 (overflows an Int64), 2^62 (beyond any member), negative.
            ("size-2-63", "h[124:136] = bytes([0x80]) + (2**63).to_bytes(11, 'big')", "b''"),
            ("size-2-62", "h[124:136] = bytes([0x80]) + (2**62).to_bytes(11, 'big')", "b''"),
            ("size-negative", "h[124:136] = b'\\xff' * 12", "b''"),
            ("mtime-huge", "h[136:148] = bytes([0x80]) + b'\\x7f' + b'\\xff' * 10", "b''"),
        ] {
            expectRefused(try makeRaw(name, in: dir, headerPatch: patch, body: body), scratch)
        }
        // pax records: a negative size, a size of 2^63, a record whose length is shorter than
        // its own digits, a length past the end.
        /// "LEN key=value\n" where LEN counts the whole record, its own digits included.
        func paxRecord(_ keyValue: String) -> String {
            var length = keyValue.utf8.count + 2
            while String(length).count + keyValue.utf8.count + 2 != length { length += 1 }
            return "\(length) \(keyValue)\n"
        }
        for (name, record) in [("pax-negative", paxRecord("size=-100")), ("pax-2-63", paxRecord("size=9223372036854775808")),
                               ("pax-2-62", paxRecord("size=4611686018427387904")), ("pax-short", "1 x"), ("pax-long", "99 path=a\n")] {
            let recipe = "p = tarfile.TarInfo('PaxHeaders/x'); p.type = tarfile.XHDTYPE; p.size = len(\(record.debugDescription).encode()); t.addfile(p, io.BytesIO(\(record.debugDescription).encode()))\nadd('media/after.txt', b'after')"
            let archive = try make(name, in: dir, recipe: recipe)
            let target = scratch.sub("target-" + name)
            let error = kuraError { _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(target: target)) }
            // A malformed record is ignored (as GNU tar warns and goes on); impossible sizes are refused.
            if ["pax-negative", "pax-2-63", "pax-2-62"].contains(name) {
                #expect(error?.exitCode == 12, "\(name): \(String(describing: error))")
            } else {
                #expect(error == nil || error?.exitCode == 12, "\(name): \(String(describing: error))")
            }
        }
    }

    @Test func brokenFilesAreRefused() throws {
        let scratch = Scratch()
        let good = try make("good", in: scratch.path, recipe: "add('database_db.sqlite3', b'')")
        let bytes = try read(good)
        func variant(_ name: String, _ data: [UInt8]) throws -> String {
            let path = scratch.sub(name + ".tar.gz")
            try Data(data).write(to: URL(fileURLWithPath: path))
            let hash = SHA256Hasher.hash(data).hex
            try Data("{\"hash\": \"\(hash)\"}".utf8).write(to: URL(fileURLWithPath: scratch.sub(name + ".json")))
            return path
        }
        expectRefused(try variant("truncated-gzip", Array(bytes.prefix(bytes.count / 2))), scratch, damage: .gzipTruncated)
        expectRefused(try variant("empty", []), scratch, damage: .empty)
        expectRefused(try variant("garbage", randomBytes(5000, seed: 3)), scratch)
        // A tar cut inside a member, gzipped properly.
        let tar = try Subprocess.run("/usr/bin/env", ["python3", "-c", """
            import gzip, io, sys, tarfile
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as t:
                i = tarfile.TarInfo("media/big.bin"); i.size = 100000; t.addfile(i, io.BytesIO(b"z" * 100000))
            open(sys.argv[1], "wb").write(gzip.compress(buffer.getvalue()[:50000], mtime=0))
            """, scratch.sub("truncated-tar.tar.gz")])
        #expect(tar.status == 0)
        try Data("{\"hash\": \"\(SHA256Hasher.hash(try read(scratch.sub("truncated-tar.tar.gz"))).hex)\"}".utf8)
            .write(to: URL(fileURLWithPath: scratch.sub("truncated-tar.json")))
        expectRefused(scratch.sub("truncated-tar.tar.gz"), scratch, damage: .memberTruncated)
    }

    @Test func manifestProblems() throws {
        let scratch = Scratch()
        let archive = try make("site", in: scratch.path, recipe: "")
        let json = scratch.sub("site.json")
        try Data("{\"hash\": \"\(String(repeating: "0", count: 64))\"}".utf8).write(to: URL(fileURLWithPath: json))
        expectRefused(archive, scratch, damage: .hashMismatch(actual: SHA256Hasher.hash(try read(archive)).hex, expected: String(repeating: "0", count: 64)))
        func restoreError() -> KuraError? {
            kuraError { _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(target: scratch.sub("t"))) }
        }
        try Data("this is not json".utf8).write(to: URL(fileURLWithPath: json))
        expectRefused(archive, scratch)
        #expect(restoreError() == .integrity(.archive(path: json, .invalidManifest)))
        try Data("{\"status\": \"completed\"}".utf8).write(to: URL(fileURLWithPath: json))
        expectRefused(archive, scratch)
        #expect(restoreError() == .integrity(.archive(path: json, .manifestWithoutHash)))
        try FileManager.default.removeItem(atPath: json)
        // Missing JSON: refused (exit 1) unless forced.
        expectRefused(archive, scratch, code: 1)
        #expect(restoreError() == .missingManifest(archive: archive, manifest: json))
        let result = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: archive), SiteRestoreOptions(target: scratch.sub("forced"), force: true))
        #expect(result.tree?.files == 1)
    }

    @Test func archiveWithoutDumpOrMedia() throws {
        let scratch = Scratch()
        let noDump = try make("nodump", in: scratch.path, recipe: "")
        let error = kuraError {
            _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: noDump), SiteRestoreOptions(database: try DatabaseURL("sqlite://" + scratch.sub("db.sqlite3"))))
        }
        #expect(error == .noDatabase(source: noDump))
        #expect(!FileManager.default.fileExists(atPath: scratch.sub("db.sqlite3")))
        let empty = try Subprocess.run("/usr/bin/env", ["python3", "-c", """
            import hashlib, json, sys, tarfile
            with tarfile.open(sys.argv[1], "w:gz") as t: pass
            json.dump({"hash": hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()}, open(sys.argv[1][:-7] + ".json", "w"))
            """, scratch.sub("hollow.tar.gz")])
        #expect(empty.status == 0)
        #expect(ArchiveVerifier.verify(scratch.sub("hollow.tar.gz")).contains { $0.contains("neither") })
        #expect(kuraError {
            _ = try SiteRestorer(repository: nil).restore(ArchiveRestorer(path: scratch.sub("hollow.tar.gz")), SiteRestoreOptions(mediaTo: scratch.sub("m")))
        } == .integrity(.archive(path: scratch.sub("hollow.tar.gz"), .noFolder("media"))))
    }
}
